#!/usr/bin/env bash
# Tries timm networks as a user would bring them (bench/export_timm.py: torch.export, 64x64, 10
# classes, a dynamic batch; "tv.NAME" is torchvision's NAME) and trains each for one epoch of 64 random images with InfoPro, K = 2,
# batch 16: whether it trains, or the one message infopro refuses it with, and its plan against
# the allocator-measured trainer. Sessions 34 and 35 ran it on the models listed below (README,
# "Bringing your own model"); the exports (up to 126 MB each) go to OUT, not the repository.
#
#   PYTHON=~/.cache/infopro-peers-venv/bin/python3 OUT=/tmp/timm bench/timm_sweep.sh [MODEL...]
#
# Needs a Python with torch, timm and onnxscript (PYTHON) and a Release build (BUILD, default
# build). Prints one line per model and a tally.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
out=${OUT:-/tmp/infopro-timm}
build=${BUILD:-build}
models=("$@")
if [[ ${#models[@]} -eq 0 ]]; then
  models=(eca_resnet33ts skresnet18 resnest14d res2net50_14w_8s selecsls42b dpn68 xception41
    ese_vovnet19b_dw hrnet_w18_small mixnet_s tinynet_a resmlp_12_224 gmlp_ti16_224 coat_lite_tiny
    pvt_v2_b0 efficientformer_l1 mobileone_s0 fastvit_t8 cs3darknet_focus_s hgnetv2_b0
    ghostnetv2_100 lcnet_050 mobilenetv4_conv_small efficientvit_b0 repghostnet_050 starnet_s1
    convmixer_768_32 inception_next_tiny halonet26t nf_resnet26 nf_regnet_b0 resnetv2_50x1_bit
    cait_xxs24_224 xcit_nano_12_p16_224 convit_tiny crossvit_tiny_240 levit_128s mobilevitv2_050
    efficientformerv2_s0 regnetz_b16 gcvit_xxtiny maxvit_nano_rw_256 coatnet_nano_rw_224 davit_tiny
    twins_svt_small focalnet_tiny_srf nest_tiny sequencer2d_s volo_d1_224 poolformerv2_s12
    visformer_tiny tiny_vit_5m_224 repvit_m1 efficientvit_m0 ghostnet_100 lambda_resnet26t
    botnet26t_256 dla34 tf_efficientnet_b0 densenet121 inception_v3 pit_ti_224 mvitv2_tiny
    hiera_tiny_224 mambaout_femto rdnet_tiny)
fi
mkdir -p "$out"
data="$out/random64.npz"
[[ -f $data ]] || "$python" - "$data" <<'PY'
import sys
import numpy as np
rng = np.random.default_rng(0)
np.savez(sys.argv[1], x_train=rng.integers(0, 256, (512, 64, 64, 3), dtype=np.uint8),
         y_train=rng.integers(0, 10, 512), x_test=rng.integers(0, 256, (128, 64, 64, 3),
         dtype=np.uint8), y_test=rng.integers(0, 10, 128))
PY
trained=0 refused=0 unexported=0
for m in "${models[@]}"; do
  [[ -f $out/$m.onnx ]] || timeout 600 "$python" bench/export_timm.py "$out" "$m" > "$out/$m.export.log" 2>&1 || true
  if [[ ! -f $out/$m.onnx ]]; then
    unexported=$((unexported + 1))
    printf '%-28s not exported: %s\n' "$m" "$(grep -m1 FAILED "$out/$m.export.log" | cut -c1-120)"
    continue
  fi
  if timeout 600 "$build/infopro" train "$out/$m.onnx" --data "npz:$data" -K 2 --batch 16 \
    --epochs 1 --limit 64 --test-limit 32 > "$out/$m.train.log" 2>&1; then
    trained=$((trained + 1))
    printf '%-28s trains: %s\n' "$m" "$(grep -m1 '^memory' "$out/$m.train.log" | grep -oE 'planned peak [0-9]+ bytes|\+?-?[0-9.]+% of planned' | tr '\n' ' ')"
  else
    refused=$((refused + 1))
    printf '%-28s refused: %s\n' "$m" "$(grep -m1 '^infopro' "$out/$m.train.log" | cut -c1-160)"
  fi
done
echo "tried ${#models[@]}: $trained train, $refused refused, $unexported not exported"
