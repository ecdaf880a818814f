"""NASNet-A (`nasnet`) and PNASNet-5 (`pnasnet`), sharing `nasnet_utils`."""
