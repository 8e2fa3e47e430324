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
