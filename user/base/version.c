// SPDX-License-Identifier: BSD-2-Clause
#include "base/version.h"

const char zt_version[] = ZT_VERSION;
const char zt_user_agent[] = "zerotrace/" ZT_VERSION;
