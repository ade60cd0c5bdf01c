/* Private to src/store: small helpers shared by the resource files. */
#ifndef SEGMENTD_STORE_UTIL_H
#define SEGMENTD_STORE_UTIL_H

#define SD_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
