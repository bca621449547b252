# Keeps the dependency direction of docs/architecture.md: a file in one folder may include our own
# headers only from the folders its rule allows. Run by the `check_layers` target (part of every
# build, so a forbidden include fails the build) and by the CTest test of the same name.
#
#   cmake -DROOT=<source dir> -DRULES="folder:allowed,allowed;folder:…" -P check_layers.cmake
#
# A folder's rule also covers its subfolders. Folders without a rule are not checked.
cmake_minimum_required(VERSION 3.20)
if(NOT ROOT OR NOT RULES)
  message(FATAL_ERROR "check_layers: ROOT and RULES are required")
endif()
set(violations "")
foreach(rule IN LISTS RULES)
  string(REPLACE ":" ";" parts "${rule}")
  list(GET parts 0 folder)
  list(GET parts 1 allowed)
  string(REPLACE "," ";" allowed "${allowed}")
  file(GLOB_RECURSE files "${ROOT}/${folder}/*.hpp" "${ROOT}/${folder}/*.cpp")
  foreach(f IN LISTS files)
    file(STRINGS "${f}" includes REGEX "^[ \t]*#[ \t]*include[ \t]*\"[a-z0-9_]+/")
    foreach(line IN LISTS includes)
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*\"([a-z0-9_]+)/.*$" "\\1" target "${line}")
      if(NOT target IN_LIST allowed)
        file(RELATIVE_PATH rel "${ROOT}" "${f}")
        string(STRIP "${line}" line)
        list(JOIN allowed ", " allowed_text)
        list(APPEND violations "${rel}: ${line} (${folder}/ may include only: ${allowed_text})")
      endif()
    endforeach()
  endforeach()
endforeach()
if(violations)
  list(JOIN violations "\n  " text)
  message(FATAL_ERROR "check_layers: includes against the dependency direction:\n  ${text}")
endif()
