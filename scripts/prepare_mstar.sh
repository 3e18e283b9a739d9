#!/usr/bin/env bash
# Prepares the MSTAR SOC 10-class chips (public release of the MSTAR programme, AFRL/DARPA
# "MSTAR Public Targets", as 8-bit JPEG renders of 128 x 128 chips) for `sarxai train`.
#
# Source: the GitHub repository hunterlew/mstar_deeplearning_project (folder
# classification/caffe/data/mstar): train/<k>/ holds the 2747 chips at 17 degrees
# depression, val/<k>/ the 2425 chips at 15 degrees (the standard SOC test set), with the
# class as a folder number 0..9. The per-class counts (299 233 298 256 233 299 299 232 299
# 299 and 274 195 274 195 196 274 273 196 274 274) are those of the SOC split in the
# alphabetical class order used below.
#
# The data stays out of the repository. Usage:
#
#     scripts/prepare_mstar.sh GIT_DIR OUT_DIR
#
# GIT_DIR is a clone (or bare mirror) of the repository above; OUT_DIR (e.g. /work/data/
# mstar-soc) receives train/<CLASS>/*.jpeg and test/<CLASS>/*.jpeg, a layout `sarxai data
# inspect` reads (split folders, class folders), and SHA256SUMS of every file.
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 GIT_DIR OUT_DIR" >&2
    exit 2
fi
git_dir=$1
out=$2
rev=${MSTAR_REV:-3761624dcbd7d44af257200542d13d1444dc634a}
classes=(2S1 BMP2 BRDM_2 BTR_60 BTR_70 D7 T62 T72 ZIL131 ZSU_23_4)

if [ -e "$out" ]; then
    echo "$out exists; remove it first" >&2
    exit 1
fi
tmp=$(mktemp -d "${out%/}.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
git --git-dir "$git_dir" archive "$rev" classification/caffe/data/mstar |
    tar -x -C "$tmp"
src=$tmp/classification/caffe/data/mstar
mkdir -p "$tmp/out"
for split in train val; do
    dest=$split
    [ "$split" = val ] && dest=test
    for k in $(seq 0 9); do
        mkdir -p "$tmp/out/$dest/${classes[$k]}"
        mv "$src/$split/$k/"*.jpeg "$tmp/out/$dest/${classes[$k]}/"
    done
done
n_train=$(find "$tmp/out/train" -name '*.jpeg' | wc -l)
n_test=$(find "$tmp/out/test" -name '*.jpeg' | wc -l)
if [ "$n_train" -ne 2747 ] || [ "$n_test" -ne 2425 ]; then
    echo "expected 2747 training and 2425 test chips, found $n_train and $n_test" >&2
    exit 1
fi
(cd "$tmp/out" && find . -name '*.jpeg' | sort | xargs sha256sum >SHA256SUMS)
mv "$tmp/out" "$out"
echo "$out: $n_train training and $n_test test chips (SHA256SUMS written)"
