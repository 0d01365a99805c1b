// Debian's Chromium as the browser tests drive it (the report's in reportgen/tests/browser, the
// demo page's in worker/test). Each caller passes its own playwright-core `chromium`, from its
// own node_modules.
//
//   CHROMIUM_PATH   browser to drive (default /usr/bin/chromium, Debian's package `chromium`;
//                   ./scripts/test installs it when missing)

import { existsSync } from "node:fs";

export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

// Flags that work on the project's machines: without the background-networking ones Chromium
// tries (and fails) to reach Google's hosts at every start. Playwright's launch() already
// gives each run a fresh, empty profile directory (the equivalent of --user-data-dir).
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Launches Debian's Chromium with playwright-core's `chromium`; fails clearly when missing. */
export async function launchChromium(chromium) {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM_PATH`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
}
