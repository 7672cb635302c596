// cairnctl: what hub operators and compliance staff use to run a Cairn hub.
//
//   cairnctl init --data DIR --operator-cert PEM      (offline, once)
//   cairnctl member add|list|show|suspend|resume|roles ...
//   cairnctl member fingerprint add|revoke ...        (over mTLS, operator)
//   cairnctl kind add|list ...                        (over mTLS, operator)
//
// Each command group lives in server/src/ctl/ (see command.h).
//
// Exit codes: 0 success; 1 the hub or the store refused (the hub's TLS
// refusal of --cert included), or the hub's certificate did not verify (the
// message says why); 2 bad command line, including a --cert, --key or
// --cacert that cannot be read and any local input file or value cairnctl
// refuses itself (ExitCodeFor in server/src/ctl/command.h decides); 3 the
// hub could not be reached.
#include <CLI/CLI.hpp>

#include "server/src/ctl/command.h"

int main(int argc, char** argv) {
  namespace ctl = cairn::server::ctl;
  CLI::App app{"cairnctl: operate a Cairn hub"};
  app.require_subcommand(1);
  int exit_code = ctl::kExitOk;
  ctl::AddInitCommand(app, &exit_code);
  ctl::AddMemberCommands(app, &exit_code);
  ctl::AddKindCommands(app, &exit_code);
  ctl::AddCertCommands(app, &exit_code);
  ctl::AddBackupCommands(app, &exit_code);
  ctl::AddReportCommands(app, &exit_code);
  ctl::AddKeyCommands(app, &exit_code);
  ctl::AddAuditCommands(app, &exit_code);
  ctl::AddPurgeCommands(app, &exit_code);
  ctl::AddOprfCommands(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help and version requests exit 0; any other parse error is a bad
    // command line, exit code 2 as documented.
    const int code = app.exit(e);
    return code == 0 ? ctl::kExitOk : ctl::kExitUsage;
  }
  return exit_code;
}
