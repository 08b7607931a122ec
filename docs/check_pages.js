// Open pages of the built site in headless Chromium, screenshot them, and report what a
// reader would see: whether MathJax typeset the math, whether every image loaded, and whether
// the page tried to reach the network. tests/test_docs.py runs it and judges the report.
//
//   node docs/check_pages.js CHROMIUM OUT_DIR PAGE.html [PAGE.html ...]
//
// prints one JSON object: {"pages": [{"page", "screenshot", "mathjax", "math", "mathErrors",
// "rawTex", "wideMath", "images", "brokenImages", "network", "pageErrors", "consoleErrors"}, ...]}
// (wideMath: displayed equations wider than the column, which scroll).
// FULL_PAGE=1 takes screenshots of whole pages rather than of the first screen. Pages are opened from
// file:// URLs; every request to anything but a file is blocked and listed, so the math must
// render from the site's own copy of MathJax.
const path = require("path");
const { chromium } = require("playwright-core");

const FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run",
               "--disable-dev-shm-usage"];
const RAW_TEX = /\\(frac|partial|begin|end|delta|odot|sum|mathrm|text|sigma|tanh|top)\b|\$\$|\\\(|\\\[/;

async function check(context, file, outDir) {
  const page = await context.newPage();
  const network = [], pageErrors = [], consoleErrors = [];
  page.on("pageerror", (error) => pageErrors.push(String(error)));
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith("file:") || url.startsWith("data:")) return route.continue();
    network.push(url);
    return route.abort();
  });
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto("file://" + path.resolve(file), { waitUntil: "load" });
  // MathJax typesets after the page has loaded; its startup promise settles when it is done.
  const mathjax = await page.evaluate(async () => {
    const deadline = Date.now() + 30000;
    while (!(window.MathJax && window.MathJax.startup && window.MathJax.startup.promise)) {
      if (!document.querySelector("script[src*='mathjax']") || Date.now() > deadline) {
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await window.MathJax.startup.promise;
    return true;
  });
  // Images below the fold load lazily: scroll through the page, then wait for every image.
  await page.evaluate(async () => {
    for (let y = 0; y < document.body.scrollHeight; y += 600) {
      window.scrollTo(0, y);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    window.scrollTo(0, 0);
    await Promise.all(Array.from(document.images).map((img) => img.complete ? null :
      new Promise((resolve) => { img.onload = img.onerror = resolve; })));
  });
  const report = await page.evaluate((rawTexSource) => {
    const rawTex = new RegExp(rawTexSource);
    const main = document.querySelector("main") || document.body;
    const clone = main.cloneNode(true);
    // Code shows TeX on purpose (matplotlib labels, this very check): judge the prose only.
    clone.querySelectorAll("pre, code, script, style, mjx-container, mjx-assistive-mml, " +
                           "textarea, .MathJax_Preview").forEach((node) => node.remove());
    const text = clone.textContent;
    const found = rawTex.exec(text);
    const images = Array.from(document.images);
    return {
      math: document.querySelectorAll("mjx-container").length,
      mathErrors: Array.from(document.querySelectorAll("mjx-merror"))
        .map((node) => node.getAttribute("data-mjx-error") || node.textContent),
      rawTex: found ? text.slice(Math.max(0, found.index - 60), found.index + 60) : null,
      wideMath: Array.from(document.querySelectorAll('mjx-container[display="true"]'))
        .filter((node) => node.scrollWidth > node.clientWidth + 1).length,
      images: images.length,
      brokenImages: images.filter((img) => !img.complete || img.naturalWidth === 0)
        .map((img) => img.getAttribute("src")),
    };
  }, RAW_TEX.source);
  const shot = path.join(outDir, file.replace(/.*\/html\//, "").replace(/[\/]/g, "__")
                                    .replace(/\.html$/, ".png"));
  await page.screenshot({ path: shot, fullPage: process.env.FULL_PAGE === "1" });
  await page.close();
  return { page: file, screenshot: shot, mathjax, network, pageErrors, consoleErrors,
           ...report };
}

(async () => {
  const [executablePath, outDir, ...pages] = process.argv.slice(2);
  const browser = await chromium.launch({ executablePath, args: FLAGS, headless: true });
  const context = await browser.newContext({ offline: true });
  const results = [];
  try {
    for (const file of pages) results.push(await check(context, file, outDir));
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify({ pages: results }, null, 1) + "\n");
})().catch((error) => {
  process.stderr.write(String(error && error.stack || error) + "\n");
  process.exit(1);
});
