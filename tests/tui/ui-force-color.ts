// Imported first by the colour tests: chalk (inside ink) reads FORCE_COLOR once, when it is first loaded,
// and test output is not a TTY.
process.env['FORCE_COLOR'] = '1';
delete process.env['NO_COLOR'];
export {};
