# Sources for channels, select, sync and context (include/weft/{chan,select,
# wait_group,mutex,semaphore,once,context}.hpp). Included by
# src/runtime/CMakeLists.txt after it defines weft_runtime.
target_sources(weft_runtime PRIVATE ${CMAKE_CURRENT_LIST_DIR}/context.cpp)
