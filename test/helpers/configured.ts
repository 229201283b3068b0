// Tests that need an engine built outside the tree (Espruino, JerryScript) read its path from the environment;
// without it the test is reported pending as "not configured", never counted as passed.

export function configuredPath(test: Mocha.Context, variable: string, hint: string): string {
  const value = process.env[variable];
  if (!value) {
    console.log(`      not configured (set ${variable}=${hint})`);
    test.skip();
  }
  return value!;
}
