// Fails fast when npm scripts do not run on the Node major the project targets.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(`pkarr-godot needs Node >= 24 (running ${process.version}); run npm ci so the node@24 devDependency is on PATH`);
  process.exit(1);
}
