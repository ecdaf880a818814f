#!/bin/bash
# Downloads ILSVRC-2012 and builds slim's ImageNet TFRecords in DATA_DIR:
#
#   DATA_DIR/train-00000-of-01024 ... DATA_DIR/validation-00127-of-00128
#   DATA_DIR/labels.txt, DATA_DIR/imagenet_metadata.json
#
# usage: download_and_preprocess_imagenet.sh DATA_DIR [build flags]
#   e.g. ... /data/imagenet --num_threads=16 --overwrite
# (the build flags go to build_imagenet_data.py and win over the script's)
#
# Steps, each skipped when its result is already there (so a re-run resumes):
#   1. download the archives into RAW_DIR (download_imagenet.sh; needs
#      IMAGENET_USERNAME and IMAGENET_ACCESS_KEY);
#   2. unpack them into RAW_DIR/train/<synset>/, RAW_DIR/validation/ and
#      RAW_DIR/bounding_boxes/ (each appears only once fully unpacked);
#   3. sort the validation images into synset folders
#      (preprocess_imagenet_validation_data.py);
#   4. turn the box XML into RAW_DIR/imagenet_2012_bounding_boxes.csv
#      (process_bounding_boxes.py);
#   5. write the shards (build_imagenet_data.py; they appear all at once).
#
# Environment:
#   IMAGENET_SKIP_DOWNLOAD=1    skip step 1: use the archives (or unpacked
#                               train/, validation/, bounding_boxes/ folders)
#                               already in RAW_DIR
#   IMAGENET_RAW_DIR            RAW_DIR, default DATA_DIR/raw-data
#   IMAGENET_VALIDATION_LABELS  the 50,000-line validation synset labels,
#                               default datasets/
#                               imagenet_2012_validation_synset_labels.txt;
#                               take it from tensorflow/models
#                               research/slim/datasets (not shipped here)
#   PYTHON                      the interpreter, default python3
# Unpacking needs GNU tar; it takes about as much disk again as the archives.
set -euo pipefail

die() { echo "ERROR: $*" >&2; exit 1; }

[ $# -ge 1 ] || die "usage: download_and_preprocess_imagenet.sh DATA_DIR \
[build_imagenet_data.py flags]"
DATA_DIR="${1%/}"
shift
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RAW_DIR="${IMAGENET_RAW_DIR:-${DATA_DIR}/raw-data}"
RAW_DIR="${RAW_DIR%/}"
PYTHON="${PYTHON:-python3}"
LABELS_FILE="${SCRIPT_DIR}/imagenet_lsvrc_2015_synsets.txt"
METADATA_FILE="${SCRIPT_DIR}/imagenet_metadata.txt"
VAL_LABELS_FILE="${SCRIPT_DIR}/imagenet_2012_validation_synset_labels.txt"
VAL_LABELS_FILE="${IMAGENET_VALIDATION_LABELS:-${VAL_LABELS_FILE}}"
BOUNDING_BOX_FILE="${RAW_DIR}/imagenet_2012_bounding_boxes.csv"

# Checked first: finding it missing after hours of unpacking would hurt.
[ -f "${VAL_LABELS_FILE}" ] || die "validation labels ${VAL_LABELS_FILE} \
not found; get imagenet_2012_validation_synset_labels.txt from \
tensorflow/models research/slim/datasets and put it there or point \
IMAGENET_VALIDATION_LABELS at it"
mkdir -p "${DATA_DIR}" "${RAW_DIR}"

if [ "${IMAGENET_SKIP_DOWNLOAD:-0}" = 1 ]; then
  echo "IMAGENET_SKIP_DOWNLOAD=1: using what is in ${RAW_DIR}"
else
  bash "${SCRIPT_DIR}/download_imagenet.sh" "${RAW_DIR}"
fi

# unpack ARCHIVE FOLDER MODE: MODE 'plain' unpacks as is, 'nested' unpacks
# each <synset>.tar member of ARCHIVE into FOLDER/<synset>/ in one pass.
unpack() {
  local archive="${RAW_DIR}/$1" folder="${RAW_DIR}/$2" mode="$3"
  if [ -d "${folder}" ]; then
    echo "Using the unpacked ${folder}"
    return
  fi
  [ -f "${archive}" ] || die "${archive} not found (nor an unpacked \
${folder}); download it, or put it there and set IMAGENET_SKIP_DOWNLOAD=1"
  echo "Unpacking ${archive} into ${folder}"
  # A killed run leaves only FOLDER.partial, which the next run starts over.
  rm -rf "${folder}.partial"
  mkdir -p "${folder}.partial"
  local status=0
  if [ "${mode}" = nested ]; then
    UNPACK_DIR="${folder}.partial" tar -xf "${archive}" --to-command='
      dest="${UNPACK_DIR}/$(basename "${TAR_FILENAME}" .tar)"
      mkdir -p "${dest}" && tar -xf - -C "${dest}"' || status=$?
  else
    tar -xf "${archive}" -C "${folder}.partial" || status=$?
  fi
  if [ "${status}" -ne 0 ]; then
    # tar's --to-command children can still be writing when tar gives up on
    # a truncated archive: remove until nothing comes back.
    # (rm itself fails, "Directory not empty", while they still write.)
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      rm -rf "${folder}.partial" 2>/dev/null || true
      sleep 0.2
      [ -e "${folder}.partial" ] || break
    done
    die "cannot unpack ${archive} (truncated or corrupt?); download it again"
  fi
  mv "${folder}.partial" "${folder}"
}

unpack ILSVRC2012_img_train.tar train nested
unpack ILSVRC2012_img_val.tar validation plain
"${PYTHON}" "${SCRIPT_DIR}/preprocess_imagenet_validation_data.py" \
  "${RAW_DIR}/validation" "${VAL_LABELS_FILE}"

if [ -f "${BOUNDING_BOX_FILE}" ]; then
  echo "Using the bounding boxes in ${BOUNDING_BOX_FILE}"
else
  unpack ILSVRC2012_bbox_train_v2.tar.gz bounding_boxes plain
  "${PYTHON}" "${SCRIPT_DIR}/process_bounding_boxes.py" \
    "${RAW_DIR}/bounding_boxes" "${LABELS_FILE}" \
    --output_file="${BOUNDING_BOX_FILE}"
fi

"${PYTHON}" "${SCRIPT_DIR}/build_imagenet_data.py" \
  --train_directory="${RAW_DIR}/train" \
  --validation_directory="${RAW_DIR}/validation" \
  --output_directory="${DATA_DIR}" \
  --labels_file="${LABELS_FILE}" \
  --imagenet_metadata_file="${METADATA_FILE}" \
  --bounding_box_file="${BOUNDING_BOX_FILE}" \
  "$@"
echo "Finished: the ImageNet TFRecords are in ${DATA_DIR}"
