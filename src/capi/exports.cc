// libtandem.so is tandem_capi linked whole; this file only gives the shared
// library target a source of its own (CMake wants one).
#include "tandem/tandem.h"
