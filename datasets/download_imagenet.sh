#!/bin/bash
# Downloads the three ILSVRC-2012 archives slim's ImageNet build needs:
#
#   ILSVRC2012_img_train.tar         ~138 GB, one <synset>.tar per class
#   ILSVRC2012_img_val.tar           ~6.3 GB, 50,000 flat validation images
#   ILSVRC2012_bbox_train_v2.tar.gz  ~20 MB, <synset>/<image>.xml boxes
#
# usage: download_imagenet.sh OUTPUT_DIR
#
# The images are only for users registered at image-net.org: set
# IMAGENET_USERNAME and IMAGENET_ACCESS_KEY (asked for when unset and a
# terminal is attached). IMAGENET_BASE_URL overrides where the archives are
# fetched from. Each archive is fetched under a .partial name (resumed by a
# re-run) and renamed only once complete; an archive already there is kept.
# When the site wants a browser login instead, download the three files by
# hand into OUTPUT_DIR and run download_and_preprocess_imagenet.sh with
# IMAGENET_SKIP_DOWNLOAD=1.
set -euo pipefail

die() { echo "ERROR: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: download_imagenet.sh OUTPUT_DIR"
OUTPUT_DIR="${1%/}"
BASE_URL="http://www.image-net.org/challenges/LSVRC/2012/nnoupb"
BASE_URL="${IMAGENET_BASE_URL:-${BASE_URL}}"

if [ -z "${IMAGENET_USERNAME:-}" ] || [ -z "${IMAGENET_ACCESS_KEY:-}" ]; then
  [ -t 0 ] || die "set IMAGENET_USERNAME and IMAGENET_ACCESS_KEY (your \
image-net.org account) to download, or put the archives in ${OUTPUT_DIR} \
and set IMAGENET_SKIP_DOWNLOAD=1"
  echo "The ImageNet images need an image-net.org account."
  read -r -p "Username: " IMAGENET_USERNAME
  read -r -s -p "Access key: " IMAGENET_ACCESS_KEY
  echo
fi
command -v wget >/dev/null || die "wget is not installed; install it or \
download the archives by hand into ${OUTPUT_DIR}"

mkdir -p "${OUTPUT_DIR}"
# The credentials go through a private wgetrc, not the command line (ps).
WGETRC_FILE=$(mktemp)
trap 'rm -f "${WGETRC_FILE}"' EXIT
chmod 600 "${WGETRC_FILE}"
printf 'user = %s\npassword = %s\n' "${IMAGENET_USERNAME}" \
  "${IMAGENET_ACCESS_KEY}" >"${WGETRC_FILE}"

fetch() {
  local name="$1" target="${OUTPUT_DIR}/$1"
  if [ -f "${target}" ]; then
    echo "Using the already downloaded ${target}"
    return
  fi
  echo "Downloading ${BASE_URL}/${name}"
  WGETRC="${WGETRC_FILE}" wget -c -O "${target}.partial" \
    "${BASE_URL}/${name}" || die "could not download ${BASE_URL}/${name}; \
check the credentials and IMAGENET_BASE_URL, or download it by hand into \
${OUTPUT_DIR} (a re-run resumes ${target}.partial)"
  mv "${target}.partial" "${target}"
}

fetch ILSVRC2012_bbox_train_v2.tar.gz
fetch ILSVRC2012_img_val.tar
fetch ILSVRC2012_img_train.tar
echo "Downloaded the ImageNet archives to ${OUTPUT_DIR}"
