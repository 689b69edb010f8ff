// `jobd keys create|list|revoke`: API keys straight in the database, for bootstrapping (the
// first admin key) and for operators. Running jobd processes see the change within
// --key_refresh_interval.
#pragma once

#include "server/config.h"

namespace jobd {

// Exit code: 0 done, 1 failed (the reason on stderr).
int RunKeys(const ServerConfig& config);

}  // namespace jobd
