# CTest glue for kernel-side tests: every test that needs wwatch.ko runs in a
# QEMU guest through tests/vm/run, one guest at a time (the host has 2 cores).
# Included from tests/CMakeLists.txt.
#
#   wwatch_add_guest_test(NAME <name> KERNEL <series> COMMAND <cmd...>
#                         [TIMEOUT <seconds>] [APPEND <kernel parameters>]
#                         [RUNNER <script>])
#   wwatch_add_guest_selftest(<series>)
#
# COMMAND's words are joined with spaces and run by /bin/sh -c in the guest
# (like ssh), so pass a shell command line as one argument:
#   COMMAND "wwatch-test-scan --quick && wwatch-test-thp"
# Guest tests run in /root/work, as root; the build is installed under /usr.
# APPEND adds kernel parameters to that test's boot (tests/vm/run --append),
# e.g. APPEND "numa=fake=2" for a test that needs two NUMA nodes.
# RUNNER replaces tests/vm/run with a script that takes its arguments and
# calls it (tests/vm/criu-run: attaches the CRIU disk first).
#
# The first use of a kernel series also registers the fixture test
# vm-prepare-<series>: it downloads the kernel and builds the module through
# DKMS (minutes on a cold cache), so the guest tests' own CTest timeouts only
# have to cover the boot and the command.  Exit status 77 (no QEMU) = skipped.

# Harness timeout used when a test names none (tests/vm/run's default).
set(WWATCH_GUEST_DEFAULT_TIMEOUT 300)
# CTest's timeout = the harness timeout + this (QEMU start, initramfs,
# `cmake --install`, and one boot retried after it did not reach /init
# within WWATCH_VM_INIT_TIMEOUT, 120 s; the cold fetch and DKMS build happen
# in the fixture).
set(WWATCH_GUEST_TIMEOUT_SLACK 210)

function(_wwatch_guest_prepare series)
  set(name "vm-prepare-${series}")
  if(NOT TEST "${name}")
    add_test(NAME "${name}"
      COMMAND "${PROJECT_SOURCE_DIR}/tests/vm/run" --kernel "${series}" --prepare-only)
    set_tests_properties("${name}" PROPERTIES
      FIXTURES_SETUP "wwatch-guest-${series}"
      SKIP_RETURN_CODE 77
      TIMEOUT 1800
      RESOURCE_LOCK guest
      LABELS "guest")
  endif()
endfunction()

function(wwatch_add_guest_test)
  cmake_parse_arguments(PARSE_ARGV 0 ARG "" "NAME;KERNEL;TIMEOUT;APPEND;RUNNER" "COMMAND")
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "wwatch_add_guest_test: unknown arguments ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT ARG_NAME OR NOT ARG_COMMAND)
    message(FATAL_ERROR "wwatch_add_guest_test: NAME and COMMAND are required")
  endif()
  if(NOT ARG_KERNEL)
    set(ARG_KERNEL 6.1)
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT ${WWATCH_GUEST_DEFAULT_TIMEOUT})
  endif()
  if(NOT ARG_RUNNER)
    set(ARG_RUNNER "${PROJECT_SOURCE_DIR}/tests/vm/run")
  endif()
  math(EXPR ctest_timeout "${ARG_TIMEOUT} + ${WWATCH_GUEST_TIMEOUT_SLACK}")
  set(append)
  if(ARG_APPEND)
    set(append --append "${ARG_APPEND}")
  endif()

  _wwatch_guest_prepare("${ARG_KERNEL}")
  add_test(NAME "${ARG_NAME}"
    COMMAND "${ARG_RUNNER}" --kernel "${ARG_KERNEL}"
            --build "${CMAKE_BINARY_DIR}" --timeout "${ARG_TIMEOUT}"
            ${append} -- ${ARG_COMMAND})
  set_tests_properties("${ARG_NAME}" PROPERTIES
    SKIP_RETURN_CODE 77
    TIMEOUT ${ctest_timeout}
    RESOURCE_LOCK guest
    FIXTURES_REQUIRED "wwatch-guest-${ARG_KERNEL}"
    LABELS "guest;guest-${ARG_KERNEL}")
endfunction()

function(wwatch_add_guest_selftest series)
  _wwatch_guest_prepare("${series}")
  # About a dozen boots, one of them waiting out a 20 s timeout.
  add_test(NAME "vm-selftest-${series}"
    COMMAND "${PROJECT_SOURCE_DIR}/tests/vm/selftest" --kernel "${series}")
  set_tests_properties("vm-selftest-${series}" PROPERTIES
    SKIP_RETURN_CODE 77
    TIMEOUT 900
    RESOURCE_LOCK guest
    FIXTURES_REQUIRED "wwatch-guest-${series}"
    LABELS "guest;guest-${series}")
endfunction()
