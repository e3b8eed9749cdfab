# Runs one libFuzzer target for ctest: cmake -DFUZZER=<exe> -DSEEDS=<dir> -DWORK=<dir>
# -DSECONDS=<n> -P run_fuzz.cmake. The seeds are copied into WORK/corpus first, so the inputs
# the fuzzer adds stay in the build tree; crashing inputs are written to WORK/artifacts/.
foreach(var FUZZER SEEDS WORK SECONDS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_fuzz.cmake: -D${var}=... missing")
  endif()
endforeach()

file(MAKE_DIRECTORY ${WORK}/corpus ${WORK}/artifacts)
file(COPY ${SEEDS}/ DESTINATION ${WORK}/corpus)

execute_process(
  COMMAND ${FUZZER} -max_total_time=${SECONDS} -timeout=10 -rss_limit_mb=2048
          -print_final_stats=1 -artifact_prefix=${WORK}/artifacts/ ${WORK}/corpus
  WORKING_DIRECTORY ${WORK}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${FUZZER} failed (${rc}); crashing inputs are in ${WORK}/artifacts/")
endif()
