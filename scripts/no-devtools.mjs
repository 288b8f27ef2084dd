// ink imports react-devtools-core only when DEV=true; the bundle leaves it out (it is not a dependency).
export default { initialize() {}, connectToDevTools() {} };
