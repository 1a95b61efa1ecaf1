// Bundles one ES module per widget (js/<widget>/index.js -> ipyviz/static/<widget>.js), minified,
// and prints each bundle's size: the bundle is stored in every notebook that shows the widget.
import * as esbuild from "esbuild";
import { readdirSync, existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { readFileSync } from "node:fs";

const widgets = readdirSync("js").filter(
  (name) => name !== "shared" && existsSync(join("js", name, "index.js")),
);
const options = {
  entryPoints: Object.fromEntries(widgets.map((w) => [w, join("js", w, "index.js")])),
  outdir: "ipyviz/static",
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2020",
  logLevel: "warning",
};

if (process.argv.includes("--watch")) {
  const context = await esbuild.context({ ...options, minify: false, sourcemap: "inline" });
  await context.watch();
  console.log("watching js/ ...");
} else {
  await esbuild.build(options);
  for (const w of widgets) {
    const file = join("ipyviz/static", `${w}.js`);
    const bytes = statSync(file).size;
    const gz = gzipSync(readFileSync(file)).length;
    console.log(`${file}: ${(bytes / 1024).toFixed(1)} KiB (${(gz / 1024).toFixed(1)} KiB gzipped)`);
  }
}
