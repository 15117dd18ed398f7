# generated.cmake: sources generated at build time, included by the top-level
# CMakeLists.txt. Each block appends to ES_GENERATED_SOURCES.

# The dashboard: web/ embedded as byte arrays (cmake/embed.cmake). The glob is
# re-checked at every build (CONFIGURE_DEPENDS), so adding, removing or editing
# a file under web/ regenerates the C file.
file(GLOB_RECURSE ES_WEB_FILES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/web/*)
set(ES_WEB_ASSETS_C ${CMAKE_BINARY_DIR}/generated/es_web_assets.c)
file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/generated)
add_custom_command(
  OUTPUT ${ES_WEB_ASSETS_C}
  COMMAND ${CMAKE_COMMAND} -DWEB_DIR=${CMAKE_SOURCE_DIR}/web -DOUT=${ES_WEB_ASSETS_C}
          -P ${CMAKE_SOURCE_DIR}/cmake/embed.cmake
  DEPENDS ${ES_WEB_FILES} ${CMAKE_SOURCE_DIR}/cmake/embed.cmake
  COMMENT "Embedding web/ (dashboard) into the binary"
  VERBATIM)
list(APPEND ES_GENERATED_SOURCES ${ES_WEB_ASSETS_C})
