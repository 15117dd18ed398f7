# Third-party libraries, all from Debian (scripts/install-deps.sh installs them).
# Each one is used by exactly one module where possible (see docs/ARCHITECTURE.md).
pkg_check_modules(SNDFILE REQUIRED IMPORTED_TARGET sndfile>=1.1)   # audio/
pkg_check_modules(SOXR    REQUIRED IMPORTED_TARGET soxr)           # audio/
pkg_check_modules(VORBIS  REQUIRED IMPORTED_TARGET vorbis ogg)     # audio/ (Vorbis header check)
pkg_check_modules(FFTW3F  REQUIRED IMPORTED_TARGET fftw3f)         # dsp/
find_library(FFTW3F_THREADS_LIB fftw3f_threads REQUIRED)          # dsp/ (thread-safe planner)
pkg_check_modules(FFTW3   REQUIRED IMPORTED_TARGET fftw3)          # dsp/ (double: YAMNet front end)
find_library(FFTW3_THREADS_LIB fftw3_threads REQUIRED)            # dsp/ (thread-safe planner)
pkg_check_modules(CRYPTO  REQUIRED IMPORTED_TARGET libcrypto)      # core/ (SHA-256, HMAC)
pkg_check_modules(CURL    REQUIRED IMPORTED_TARGET libcurl)        # s3/
pkg_check_modules(EXPAT   REQUIRED IMPORTED_TARGET expat)          # s3/ (XML replies)
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)        # store/
pkg_check_modules(MHD     REQUIRED IMPORTED_TARGET libmicrohttpd)  # server/
pkg_check_modules(CJSON   REQUIRED IMPORTED_TARGET libcjson)       # JSON documents
pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas)   # nn/ (cblas_sgemm)
pkg_check_modules(CMOCKA  REQUIRED IMPORTED_TARGET cmocka)         # tests/unit

set(ES_DEP_LIBS
  PkgConfig::SNDFILE PkgConfig::SOXR PkgConfig::VORBIS PkgConfig::FFTW3F PkgConfig::FFTW3 PkgConfig::CRYPTO
  PkgConfig::CURL PkgConfig::EXPAT PkgConfig::SQLITE3 PkgConfig::MHD PkgConfig::CJSON PkgConfig::OPENBLAS
  ${FFTW3F_THREADS_LIB} ${FFTW3_THREADS_LIB})
