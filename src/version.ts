/** Version of this package, reported as the instrumentation scope version. Kept equal to package.json. */
export const VERSION = '0.1.0';
export const PACKAGE_NAME = 'pulsar-keyscope';
