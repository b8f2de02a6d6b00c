// The CLI as a client of the staff API: the parsed command goes to the
// daemon over its Unix socket, files the command reads go with it
// (streamed), files it hands back (a media package) are written here with
// the caller's own rights, and the answer is printed as the command always
// printed it.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "gateway/cli_commands.h"

namespace itaku::gateway {

// Runs the parsed command through the daemon at `socket`; returns the exit
// status (0 done, 1 refused or failed).
int RunThroughDaemon(const CLI::App& app, const CommandLine& line, const std::string& socket,
                     bool json);

}  // namespace itaku::gateway
