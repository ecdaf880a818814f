"""MobileNet v2, v3 and EdgeTPU, built from tables of layer definitions.

`mobilenet` holds the builder (`mobilenet_base`, `mobilenet`, `op`,
`training_scope`), `conv_blocks` the blocks the tables use (`expanded_conv`,
`squeeze_excite`, `split_conv`); `mobilenet_v2` and `mobilenet_v3` hold the
tables and the named networks.
"""
