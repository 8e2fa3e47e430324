// What both browser runs share: their settings from the environment, a fresh screenshot folder,
// checks that are counted rather than thrown, and the verdict the Rust test reads.
import fs from "node:fs";
import path from "node:path";

export const env = (k) => {
  const v = process.env[k];
  if (!v) { throw new Error(`missing ${k}`); }
  return v;
};

// A run's checks and screenshots (numbered in order under `dir`, emptied first).
export function run(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const problems = [];
  let shots = 0;
  return {
    problems,
    check(ok, what) {
      if (!ok) { problems.push(what); console.log(`FAIL ${what}`); } else { console.log(`ok   ${what}`); }
    },
    async snap(page, name) {
      shots += 1;
      await page.screenshot({ path: path.join(dir, `${String(shots).padStart(2, "0")}-${name}.png`), fullPage: true });
    },
    // Exits non-zero on any problem; "all good" is what the test looks for.
    finish() {
      if (problems.length > 0) {
        console.log(`${problems.length} problem(s)`);
        process.exit(1);
      }
      console.log(`all good; ${shots} screenshots in ${dir}`);
    },
  };
}

// A screen recording for the help's tutorials, when $VIDEOS is set: Chromium's screencast
// frames (CDP Page.startScreencast) saved as JPEG with their times, and captions in both
// languages at the moments `say` is called. scripts/help-media.sh turns each into a WebM
// with Debian's ffmpeg and WebVTT captions. Without $VIDEOS it records nothing.
export async function recorder(page, name) {
  const dir = process.env.VIDEOS;
  if (!dir) { return { async say() {}, async stop() {} }; }
  const out = path.join(dir, name);
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  const cdp = await page.context().newCDPSession(page);
  const frames = [];
  const cues = [];
  let n = 0;
  cdp.on("Page.screencastFrame", (f) => {
    n += 1;
    const file = `f${String(n).padStart(5, "0")}.jpg`;
    fs.writeFileSync(path.join(out, file), Buffer.from(f.data, "base64"));
    frames.push({ file, t: f.metadata.timestamp || Date.now() / 1000 });
    cdp.send("Page.screencastFrameAck", { sessionId: f.sessionId }).catch(() => {});
  });
  await cdp.send("Page.startScreencast", { format: "jpeg", quality: 85, everyNthFrame: 1 });
  return {
    // A caption from now until the next one (or the end), held long enough to read.
    async say(en, tr) {
      cues.push({ t: Date.now() / 1000, en, tr });
      await page.waitForTimeout(2200);
    },
    async stop() {
      // Hold the last picture a moment so the last caption can be read.
      await page.waitForTimeout(1500);
      await cdp.send("Page.stopScreencast").catch(() => {});
      fs.writeFileSync(path.join(out, "recording.json"), JSON.stringify({ frames, cues, end: Date.now() / 1000 }, null, 1));
      await cdp.detach().catch(() => {});
    },
  };
}
