// Mocha's configuration. The whole suite by default; only the files named when any are (`npx mocha dist/test/X.test.js`:
// a `spec` here would be added to them, running everything). The root hooks fail the run on a leaked child process.
const named = process.argv.slice(2).some((a) => !a.startsWith('-') && a.endsWith('.js'));
module.exports = {
  spec: named ? [] : ['dist/test/**/*.test.js'],
  require: ['dist/test/helpers/leak-check.js'],
  timeout: 120000,
  reporter: 'spec',
};
