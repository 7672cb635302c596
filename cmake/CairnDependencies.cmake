# Finds every third-party library Cairn uses and exposes each as an imported
# target. All of them come from Debian 12 packages (see install-deps.sh).
include_guard(GLOBAL)

find_package(Threads REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS system)
find_package(tl-expected REQUIRED)
find_package(simdjson REQUIRED)
find_package(RapidJSON REQUIRED)
find_package(CLI11 REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(tomlplusplus REQUIRED)
find_package(prometheus-cpp REQUIRED)
find_package(ICU REQUIRED COMPONENTS uc i18n)
find_package(SQLite3 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
if(CAIRN_TCMALLOC)
  pkg_check_modules(TCMALLOC REQUIRED IMPORTED_TARGET libtcmalloc_minimal)
endif()

# libphonenumber ships no CMake package on Debian 12.
find_library(PHONENUMBER_LIBRARY phonenumber REQUIRED)
find_path(PHONENUMBER_INCLUDE_DIR phonenumbers/phonenumberutil.h REQUIRED)
add_library(Cairn::phonenumber INTERFACE IMPORTED)
target_link_libraries(Cairn::phonenumber INTERFACE ${PHONENUMBER_LIBRARY})
target_include_directories(Cairn::phonenumber INTERFACE ${PHONENUMBER_INCLUDE_DIR})

add_library(Cairn::rapidjson INTERFACE IMPORTED)
target_include_directories(Cairn::rapidjson INTERFACE ${RAPIDJSON_INCLUDE_DIRS})

if(CAIRN_BUILD_TESTS)
  find_package(Catch2 2 REQUIRED)
  include(Catch)
endif()
