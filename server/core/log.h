// Structured logging: one JSON object per line on stderr.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace jobd::core {

enum class LogLevel { kDebug = 0, kInfo, kWarning, kError };

// "debug", "info", "warning"/"warn", "error"; false when unknown.
bool ParseLogLevel(const std::string& text, LogLevel* level);
void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);

// Adds "time", "level" and "msg" to `fields` and writes the line atomically.
void Log(LogLevel level, const std::string& message,
         nlohmann::json fields = nlohmann::json::object());

}  // namespace jobd::core
