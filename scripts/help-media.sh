#!/usr/bin/env bash
# Regenerates the help's screenshots (help/shots/{en,tr}/*.webp) and tutorial videos
# (help/videos/*.webm with *.en.vtt and *.tr.vtt captions) from the end-to-end browser runs,
# so the guide's pictures are always of the product as it is. Needs what the e2e tests need
# (Debian's chromium, e2e/node_modules) and Debian's ffmpeg (with libwebp and libvpx).
#
#   scripts/help-media.sh            # run the e2e tests, then convert
#   scripts/help-media.sh --convert  # convert what the last run left in target/
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
console_shots=$root/target/e2e-shots
app_shots=$root/target/e2e-shots-miniapp
signup_shots=$root/target/e2e-shots-signup
videos=$root/target/e2e-videos

if [[ "${1:-}" != "--convert" ]]; then
  rm -rf "$videos"
  mkdir -p "$videos"
  BOTYARD_E2E=1 BOTYARD_E2E_VIDEOS="$videos" cargo nextest run --no-fail-fast -E 'test(/_e2e::/)'
fi
command -v ffmpeg >/dev/null || { echo "ffmpeg is needed: apt-get install ffmpeg" >&2; exit 1; }

# name  language  source folder  screenshot (without its number)
shots=(
  "dashboard en app app-dashboard-light-en"
  "dashboard tr app app-dashboard-light-tr"
  "groups en app app-groups-light-en"
  "groups tr app app-groups-light-tr"
  "sessions en app app-sessions-light-en"
  "sessions tr app app-sessions-light-tr"
  "subscription en app app-subscription-light-en"
  "subscription tr app app-subscription-light-tr"
  "more en app app-more-light-en"
  "more tr app app-more-light-tr"
  "template-editor en app app-template-editor-light-en"
  "template-editor tr app app-template-editor-light-tr"
  "campaign-form en app app-campaign-new-light-en"
  "campaign-form tr app app-campaign-new-light-tr"
  "campaign en app app-campaign-light-en"
  "campaign tr app app-campaign-light-tr"
  "launch en console launch"
  "launch tr console launch-turkish"
  "backups en console backups"
  "backups tr console backups-turkish-phone"
  "signup en signup app-signup-form-en"
  "signup tr signup app-signup-form-tr"
  "support en signup app-support-answered-en"
  "support tr signup app-support-answered-tr"
  "signups en signup console-signups"
  "signups tr signup console-signups-tr"
)
for entry in "${shots[@]}"; do
  read -r name lang from shot <<<"$entry"
  dir=$console_shots
  [[ $from == app ]] && dir=$app_shots
  [[ $from == signup ]] && dir=$signup_shots
  src=$(find "$dir" -maxdepth 1 -name "[0-9][0-9]-$shot.png" | head -1)
  [[ -n $src ]] || { echo "no screenshot $shot in $dir" >&2; exit 1; }
  mkdir -p "help/shots/$lang"
  # Phones are shot at twice their size; a guide needs no more than 720 pixels across.
  ffmpeg -loglevel error -y -i "$src" -vf "scale='min(720,iw)':-2" -c:v libwebp -quality 70 \
    "help/shots/$lang/$name.webp"
done

# Each recording: its frames held until the next one came, at 10 pictures a second, in VP9,
# with its captions as WebVTT in both languages.
if compgen -G "$videos/*/recording.json" >/dev/null; then
  mkdir -p help/videos
  for rec in "$videos"/*/recording.json; do
    dir=$(dirname "$rec")
    name=$(basename "$dir")
    python3 - "$dir" "$root/help/videos/$name" <<'PY'
import json, sys
dir, out = sys.argv[1], sys.argv[2]
r = json.load(open(f"{dir}/recording.json"))
frames, cues, end = r["frames"], r["cues"], r["end"]
if not frames:
    sys.exit(f"{dir}: no frames")
start = frames[0]["t"]
with open(f"{dir}/frames.txt", "w") as f:
    f.write("ffconcat version 1.0\n")
    for i, fr in enumerate(frames):
        nxt = frames[i + 1]["t"] if i + 1 < len(frames) else end
        f.write(f"file {fr['file']}\nduration {max(0.04, min(nxt - fr['t'], 10)):.3f}\n")
    f.write(f"file {frames[-1]['file']}\n")
def stamp(s):
    s = max(0.0, s)
    return f"{int(s // 3600):02d}:{int(s % 3600 // 60):02d}:{s % 60:06.3f}"
for lang in ("en", "tr"):
    with open(f"{out}.{lang}.vtt", "w") as f:
        f.write("WEBVTT\n\n")
        for i, c in enumerate(cues):
            until = cues[i + 1]["t"] if i + 1 < len(cues) else end
            f.write(f"{i + 1}\n{stamp(c['t'] - start)} --> {stamp(until - start)}\n{c[lang]}\n\n")
PY
    ffmpeg -loglevel error -y -f concat -safe 0 -i "$dir/frames.txt" \
      -vf "fps=10,scale='min(720,iw)':-2:flags=lanczos,format=yuv420p" \
      -c:v libvpx-vp9 -b:v 0 -crf 42 -row-mt 1 -deadline good -cpu-used 4 -an \
      "help/videos/$name.webm"
  done
fi
du -sh help/shots help/videos 2>/dev/null || true
