// Loads the compiled addon; throws when it was not built (no OpenBLAS or no compiler at install).
module.exports = require('./build/Release/lopt_native_kernels.node');
