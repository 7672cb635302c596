// cairnctl against a running cairnd: every member command, in text and
// --json, and its errors with their exit codes (1 refused, 2 bad command
// line or unusable --cert/--key/--cacert, 3 hub unreachable).
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <catch2/catch.hpp>

#include "server/src/store/store.h"
#include "server/src/store_location.h"
#include "support/sqlite_query.h"
#include "tests/integration/integration_util.h"

namespace cairn::testing {
namespace {

rapidjson::Document JsonOf(const CommandResult& result) {
  CAPTURE(result.out, result.err);
  REQUIRE(result.exit_code == 0);
  auto doc = ParseJson(result.out);
  REQUIRE_FALSE(doc.HasParseError());
  REQUIRE(doc.IsObject());
  return doc;
}

std::vector<std::string> Roles(const rapidjson::Value& member) {
  std::vector<std::string> out;
  for (const auto& r : member["roles"].GetArray()) out.push_back(r.GetString());
  return out;
}

TEST_CASE("cairnctl manages members on a running hub") {
  auto hub = RunningHub::Start();
  REQUIRE(hub);
  RunningHub& h = **hub;
  const std::string fp1 = RandomTokenHex();
  const std::string fp2 = RandomTokenHex();

  // list, text and JSON.
  const CommandResult list = h.Ctl({"member", "list"});
  REQUIRE(list.exit_code == 0);
  for (const char* id : {"alpha", "beta", "compliance", "operator"}) {
    CHECK(list.out.find(id) != std::string::npos);
  }
  CHECK(list.out.find("Alpha Social") != std::string::npos);
  auto list_json = JsonOf(h.Ctl({"member", "list", "--json"}));
  CHECK(list_json["members"].Size() == 4);

  // show.
  const CommandResult show = h.Ctl({"member", "show", "alpha"});
  REQUIRE(show.exit_code == 0);
  CHECK(show.out.find("Alpha Social") != std::string::npos);
  CHECK(show.out.find(h.Pki().Fingerprint("alpha")) != std::string::npos);
  auto show_json = JsonOf(h.Ctl({"member", "show", "alpha", "--json"}));
  CHECK(std::string(show_json["member_id"].GetString()) == "alpha");
  CHECK(std::string(show_json["status"].GetString()) == "active");

  // add with a bare fingerprint.
  auto added =
      JsonOf(h.Ctl({"member", "add", "delta", "--name", "Delta Forum", "--role",
                    "member", "--fingerprint", fp1, "--json"}));
  CHECK(std::string(added["member_id"].GetString()) == "delta");
  CHECK(std::string(added["name"].GetString()) == "Delta Forum");
  REQUIRE(added["fingerprints"].Size() == 1);
  CHECK(std::string(added["fingerprints"][0]["fingerprint"].GetString()) ==
        fp1);

  // suspend and resume.
  auto suspended = JsonOf(h.Ctl(
      {"member", "suspend", "delta", "--reason", "audit pending", "--json"}));
  CHECK(std::string(suspended["status"].GetString()) == "suspended");
  REQUIRE(suspended.HasMember("suspended_reason"));
  CHECK(std::string(suspended["suspended_reason"].GetString()) ==
        "audit pending");
  const CommandResult suspended_text = h.Ctl({"member", "show", "delta"});
  CHECK(suspended_text.out.find("suspended (audit pending)") !=
        std::string::npos);
  auto resumed = JsonOf(h.Ctl({"member", "resume", "delta", "--json"}));
  CHECK(std::string(resumed["status"].GetString()) == "active");

  // roles.
  auto roles = JsonOf(h.Ctl({"member", "roles", "delta", "--role", "member",
                             "--role", "compliance", "--json"}));
  auto role_names = Roles(roles);
  std::sort(role_names.begin(), role_names.end());
  CHECK(role_names == std::vector<std::string>{"compliance", "member"});

  // fingerprint add (bare and from a certificate) and revoke.
  auto with_two =
      JsonOf(h.Ctl({"member", "fingerprint", "add", "delta", fp2, "--json"}));
  CHECK(with_two["fingerprints"].Size() == 2);
  REQUIRE(IssueClientCert(h.Pki(), "delta", 30));
  auto with_three =
      JsonOf(h.Ctl({"member", "fingerprint", "add", "delta", "--member-cert",
                    h.Pki().Cert("delta"), "--json"}));
  CHECK(with_three["fingerprints"].Size() == 3);
  // delta's certificate works now.
  CHECK(h.Curl("delta", "GET", "/v1/me").status == 200);
  auto revoked = JsonOf(
      h.Ctl({"member", "fingerprint", "revoke", "delta", fp1, "--json"}));
  bool saw_revoked = false;
  for (const auto& fp : revoked["fingerprints"].GetArray()) {
    if (std::string(fp["fingerprint"].GetString()) == fp1) {
      CHECK(std::string(fp["status"].GetString()) == "revoked");
      CHECK(fp.HasMember("revoked_at"));
      saw_revoked = true;
    } else {
      CHECK(std::string(fp["status"].GetString()) == "active");
    }
  }
  CHECK(saw_revoked);

  // Text output of a mutation.
  const CommandResult text_add = h.Ctl(
      {"member", "add", "epsilon", "--name", "Epsilon", "--role", "member"});
  CAPTURE(text_add.err);
  CHECK(text_add.exit_code == 0);
  CHECK(text_add.out.find("epsilon") != std::string::npos);
  CHECK(JsonOf(h.Ctl({"member", "list", "--json"}))["members"].Size() == 6);
}

struct ErrorCase {
  const char* what;
  std::vector<std::string> args;
  bool with_credentials;  // append the operator's --hub/--cert/--key/--cacert
  int exit_code;
  const char* message;  // substring of stderr
};

TEST_CASE("cairnctl registers custom kinds that members can then use") {
  auto hub = RunningHub::Start();
  REQUIRE(hub);
  RunningHub& h = **hub;
  SignalSpec steam;
  steam.kind = "steam_id";
  steam.token = RandomTokenHex();
  CurlReply before =
      h.Curl("alpha", "POST", "/v1/signals", SubmitBody({steam}));
  REQUIRE(before.status == 200);
  CHECK(before.body.find("not registered") != std::string::npos);

  // A malformed name is a usage error, refused before any request.
  const CommandResult bad = h.Ctl({"kind", "add", "Steam-ID"});
  CAPTURE(bad.out, bad.err);
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("not a kind name") != std::string::npos);
  // Only an operator may register kinds.
  std::vector<std::string> as_alpha = {"kind", "add", "steam_id"};
  for (const std::string& flag : h.ConnectionFlags("alpha")) {
    as_alpha.push_back(flag);
  }
  const CommandResult as_member =
      RunCairnctl(as_alpha, std::chrono::seconds(30));
  CAPTURE(as_member.out, as_member.err);
  CHECK(as_member.exit_code == 1);
  CHECK(as_member.err.find("operator") != std::string::npos);

  const CommandResult added = h.Ctl({"kind", "add", "steam_id"});
  CAPTURE(added.out, added.err);
  REQUIRE(added.exit_code == 0);
  CHECK(added.out.find("steam_id") != std::string::npos);
  CHECK(added.out.find("registered") != std::string::npos);
  auto listed = ParseJson(h.Ctl({"kind", "list", "--json"}).out);
  REQUIRE(listed.IsObject());
  REQUIRE(listed["kinds"].Size() == 6);
  CHECK(std::string(listed["kinds"][5]["name"].GetString()) == "steam_id");
  CHECK_FALSE(listed["kinds"][5]["builtin"].GetBool());

  CurlReply after = h.Curl("alpha", "POST", "/v1/signals", SubmitBody({steam}));
  REQUIRE(after.status == 200);
  CHECK(after.body.find("\"created\"") != std::string::npos);
  CurlReply found = h.Curl("beta", "POST", "/v1/query",
                           QueryBody({{"steam_id", steam.token}}));
  REQUIRE(found.status == 200);
  CHECK(found.body.find("match_id") != std::string::npos);
}

TEST_CASE("cairnctl errors say what went wrong, with distinct exit codes") {
  auto hub = RunningHub::Start();
  REQUIRE(hub);
  RunningHub& h = **hub;
  const std::string cert = h.Pki().Cert("operator");
  const std::string key = h.Pki().Key("operator");
  const std::string ca = h.Pki().CaCert();
  const std::vector<ErrorCase> cases = {
      {"init on an existing database",
       {"init", "--data", h.DataDir(), "--operator-cert", cert},
       false,
       1,
       "already exists"},
      {"unknown member", {"member", "show", "nobody"}, true, 1, "not_found"},
      {"suspend an unknown member",
       {"member", "suspend", "nobody"},
       true,
       1,
       "nobody"},
      {"duplicate member",
       {"member", "add", "alpha", "--name", "Again", "--role", "member"},
       true,
       1,
       "alpha"},
      {"unknown role",
       {"member", "add", "zeta", "--name", "Zeta", "--role", "king"},
       true,
       2,
       "unknown role 'king'"},
      {"missing --cert/--key/--cacert",
       {"member", "list", "--hub", h.Url()},
       false,
       2,
       "--cert"},
      {"missing --cacert",
       {"member", "list", "--hub", h.Url(), "--cert", cert, "--key", key},
       false,
       2,
       "--cacert"},
      // A URL cairnctl cannot use is a bad command line, not a hub that
      // could not be reached: nothing was tried.
      {"--hub not an https URL",
       {"member", "list", "--hub", "http://127.0.0.1:1", "--cert", cert,
        "--key", key, "--cacert", ca},
       false,
       2,
       "must start with https://"},
      {"hub unreachable",
       {"member", "list", "--hub", "https://127.0.0.1:1", "--cert", cert,
        "--key", key, "--cacert", ca},
       false,
       3,
       ""},
      {"no subcommand", {"member"}, false, 2, ""},
      {"member id missing", {"member", "show"}, false, 2, ""},
      {"fingerprint add with both forms missing",
       {"member", "fingerprint", "add", "alpha"},
       true,
       2,
       "exactly one"},
      // Certificates the hub would refuse at every handshake are not
      // registered: the member would only find out when it connects.
      {"member add with the hub's own (serverAuth) certificate",
       {"member", "add", "webby", "--name", "Web", "--role", "member",
        "--member-cert", h.Pki().ServerCert()},
       true,
       2,
       "lacks clientAuth"},
      {"member add with a serverAuth-only certificate of the CA",
       {"member", "add", "webby", "--name", "Web", "--role", "member",
        "--member-cert", h.Pki().Cert("server-auth-only")},
       true,
       2,
       "is not a TLS client certificate"},
      {"fingerprint add with an expired certificate",
       {"member", "fingerprint", "add", "beta", "--member-cert",
        h.Pki().Cert("expired")},
       true,
       2,
       "expired at 2021-01-01"},
      {"init with an expired operator certificate",
       {"init", "--data", h.Scratch().File("never-made"), "--operator-cert",
        h.Pki().Cert("expired")},
       false,
       2,
       "cairnctl cert sign"},
  };
  for (const ErrorCase& c : cases) {
    CAPTURE(c.what);
    const CommandResult result =
        c.with_credentials ? h.Ctl(c.args)
                           : RunCairnctl(c.args, std::chrono::seconds(30));
    CAPTURE(result.out, result.err);
    CHECK(result.exit_code == c.exit_code);
    CHECK_FALSE(result.err.empty());
    CHECK(result.err.find(c.message) != std::string::npos);
  }
  // None of the failures changed the member list.
  auto list = ParseJson(h.Ctl({"member", "list", "--json"}).out);
  REQUIRE_FALSE(list.HasParseError());
  CHECK(list["members"].Size() == 4);
  auto beta = ParseJson(h.Ctl({"member", "show", "beta", "--json"}).out);
  REQUIRE_FALSE(beta.HasParseError());
  CHECK(beta["fingerprints"].Size() == 1);
  CHECK_FALSE(std::filesystem::exists(h.Scratch().File("never-made")));
  // A certificate that is not valid yet is accepted: it may be issued
  // ahead of a rotation.
  CHECK(h.Ctl({"member", "fingerprint", "add", "beta", "--member-cert",
               h.Pki().Cert("not-yet-valid")})
            .exit_code == 0);
}

TEST_CASE(
    "cairnctl exits 1 naming the fingerprint when the hub refuses --cert, "
    "and 2 when --cert, --key or --cacert cannot be read") {
  auto hub = RunningHub::Start();
  REQUIRE(hub);
  RunningHub& h = **hub;
  const TempPki& pki = h.Pki();
  const std::string garbage = h.Scratch().File("garbage.pem");
  REQUIRE(WriteFile(garbage, "not a PEM file\n"));
  const std::string missing = h.Scratch().File("missing.pem");
  // member list as `member` with `cert`, `key` and `ca` as given.
  auto list = [&](const std::string& cert, const std::string& key,
                  const std::string& ca) {
    return RunCairnctl({"member", "list", "--hub", h.Url(), "--cert", cert,
                        "--key", key, "--cacert", ca});
  };

  // A refusal by TLS alert (under TLS 1.3 it arrives after cairnctl's
  // handshake is done) is as final as the hub's 403 for a revoked
  // certificate: no retry fixes it, so it is 1 as in `cairn`, not 3.
  struct Refused {
    const char* name;  // PKI certificate
    const char* reason;
  };
  for (const Refused& r : {Refused{"other-ca-client", "not signed by a CA"},
                           Refused{"expired", "it has expired"},
                           Refused{"server-auth-only", "clientAuth"}}) {
    CAPTURE(r.name);
    const CommandResult result =
        list(pki.Cert(r.name), pki.Key(r.name), pki.CaCert());
    CAPTURE(result.out, result.err);
    CHECK(result.exit_code == 1);
    REQUIRE_FALSE(pki.Fingerprint(r.name).empty());
    CHECK_THAT(result.err,
               Catch::Contains("the hub refused the client certificate") &&
                   Catch::Contains(pki.Fingerprint(r.name)) &&
                   Catch::Contains(r.reason) &&
                   Catch::Contains("cairnctl member fingerprint add"));
  }
  // A revoked certificate the hub's CA signed passes the handshake and is
  // refused with a 403 naming its fingerprint: also 1.
  REQUIRE(h.Ctl({"member", "fingerprint", "revoke", "beta",
                 pki.Fingerprint("beta")})
              .exit_code == 0);
  const CommandResult revoked =
      list(pki.Cert("beta"), pki.Key("beta"), pki.CaCert());
  CAPTURE(revoked.err);
  CHECK(revoked.exit_code == 1);
  CHECK_THAT(revoked.err, Catch::Contains(pki.Fingerprint("beta")) &&
                              Catch::Contains("revoked"));

  // Files that cannot be used as given are a bad command line (2), like a
  // missing --member-cert, not an unreachable hub (3): the hub is up.
  const std::string cert = pki.Cert("operator");
  const std::string key = pki.Key("operator");
  const std::string ca = pki.CaCert();
  struct Unusable {
    const char* what;
    std::string cert, key, ca;
    std::vector<std::string> message;  // substrings of stderr
  };
  const std::vector<Unusable> unusable = {
      {"missing --cacert",
       cert,
       key,
       missing,
       {missing, "No such file or directory", "--cacert"}},
      {"missing --cert",
       missing,
       key,
       ca,
       {missing, "No such file or directory", "--cert"}},
      {"missing --key",
       cert,
       missing,
       ca,
       {missing, "No such file or directory", "--key"}},
      {"--cacert not PEM", cert, key, garbage, {garbage, "give --cacert"}},
      {"--cert not PEM", garbage, key, ca, {garbage, "give --cert"}},
      {"--key not PEM", cert, garbage, ca, {garbage, "give --key"}},
      {"--key of another certificate",
       cert,
       pki.Key("alpha"),
       ca,
       {pki.Key("alpha"), "must match the certificate"}},
  };
  for (const Unusable& u : unusable) {
    CAPTURE(u.what);
    const CommandResult result = list(u.cert, u.key, u.ca);
    CAPTURE(result.out, result.err);
    CHECK(result.exit_code == 2);
    for (const std::string& part : u.message) {
      CHECK_THAT(result.err, Catch::Contains(part));
    }
  }
  // The same call with usable files reaches the hub.
  CHECK(list(cert, key, ca).exit_code == 0);
}

TEST_CASE(
    "cairnctl refuses to write a database its user may not write, naming "
    "the file and the fix") {
  TempDir data("cairn-readonly");
  const std::string db = server::DatabasePath(data.path()).string();
  {
    server::SqliteStoreOptions options;
    options.db_path = db;
    REQUIRE(server::OpenSqliteStore(options).has_value());  // made and closed
  }
  // Root may write any file whatever its mode: run cairnctl as root
  // without the capabilities that override file modes, on a database file
  // nobody owns and nobody may write. (Not as user nobody: in a chroot
  // whose / is 0700, as the fresh-Debian CI check makes, nobody cannot
  // even load cairnctl's libraries.)
  std::vector<std::string> argv = {RunningHub::CairnctlPath(),
                                   "purge",
                                   "--data",
                                   data.path(),
                                   "--tombstone-days=30",
                                   "--match-retention-days=730",
                                   "--disposition-retention-days=730",
                                   "--notification-retention-days=730"};
  if (::geteuid() == 0) {
    REQUIRE(::chown(data.path().c_str(), 65534, 65534) == 0);
    REQUIRE(::chmod(data.path().c_str(), 0777) == 0);  // for -wal, the lock
    REQUIRE(::chown(db.c_str(), 65534, 65534) == 0);
    argv.insert(
        argv.begin(),
        {"setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner",
         "--inh-caps=-dac_override,-dac_read_search,-fowner"});
  }
  REQUIRE(::chmod(db.c_str(), 0444) == 0);
  const CommandResult purge = RunCommand(argv, std::chrono::seconds(20));
  CAPTURE(purge.out, purge.err);
  CHECK(purge.exit_code == 1);
  CHECK_THAT(purge.err, Catch::Contains(db) && Catch::Contains("read-only") &&
                            Catch::Contains("chmod 600"));
}

TEST_CASE(
    "cairnctl names a hub certificate issued for another host name, and "
    "exits 1 for a hub certificate it refuses, 3 only for a hub it cannot "
    "reach") {
  auto hub = RunningHub::Start();
  REQUIRE(hub);
  RunningHub& h = **hub;
  const TempPki& pki = h.Pki();
  const auto timeout = std::chrono::seconds(30);
  // A production-style hub certificate: one DNS name, no IP address.
  const std::string base = pki.dir() + "/dns-only";
  REQUIRE(
      RunCommand({"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:P-256", "-nodes", "-keyout", base + ".key",
                  "-subj", "/CN=hub.example.org", "-out", base + ".csr"},
                 timeout)
          .exit_code == 0);
  REQUIRE(WriteFile(base + ".ext",
                    "basicConstraints=CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=serverAuth\n"
                    "subjectAltName=DNS:hub.example.org\n"));
  const CommandResult signed_cert = RunCommand(
      {"openssl", "x509", "-req", "-in", base + ".csr", "-CA", pki.CaCert(),
       "-CAkey", pki.dir() + "/ca.key", "-CAcreateserial", "-days", "30",
       "-sha256", "-extfile", base + ".ext", "-out", base + ".crt"},
      timeout);
  CAPTURE(signed_cert.err);
  REQUIRE(signed_cert.exit_code == 0);
  auto stopped = h.Stop();
  REQUIRE(stopped);
  REQUIRE(*stopped == 0);
  const auto overwrite = std::filesystem::copy_options::overwrite_existing;
  std::filesystem::copy_file(base + ".crt", pki.ServerCert(), overwrite);
  std::filesystem::copy_file(base + ".key", pki.ServerKey(), overwrite);
  REQUIRE(h.Restart());
  const std::string port = std::to_string(h.Port());

  auto list = [&](std::vector<std::string> connection) {
    std::vector<std::string> argv = {"member", "list",
                                     "--cert", pki.Cert("operator"),
                                     "--key",  pki.Key("operator")};
    argv.insert(argv.end(), connection.begin(), connection.end());
    return RunCairnctl(argv, timeout);
  };
  // By IP address, as a restore drill on 127.0.0.1 would: the error names
  // the mismatch and the names the certificate holds, not the CA.
  const CommandResult by_ip =
      list({"--hub", "https://127.0.0.1:" + port, "--cacert", pki.CaCert()});
  CAPTURE(by_ip.out, by_ip.err);
  // Refused, not unreachable (as `cairn` exits): no retry fixes the name.
  CHECK(by_ip.exit_code == 1);
  CHECK(by_ip.err.find("not issued for '127.0.0.1'") != std::string::npos);
  CHECK(by_ip.err.find("DNS:hub.example.org") != std::string::npos);
  CHECK(by_ip.err.find("--hub-address") != std::string::npos);
  CHECK(by_ip.err.find("check that --cacert") == std::string::npos);

  // By the certificate's name, connecting to the loopback address.
  const CommandResult by_name =
      list({"--hub", "https://hub.example.org:" + port, "--hub-address",
            "127.0.0.1", "--cacert", pki.CaCert()});
  CAPTURE(by_name.out, by_name.err);
  CHECK(by_name.exit_code == 0);
  CHECK(by_name.out.find("alpha") != std::string::npos);

  // A wrong name with --hub-address is still a mismatch.
  const CommandResult wrong_name =
      list({"--hub", "https://other.example.org:" + port, "--hub-address",
            "127.0.0.1", "--cacert", pki.CaCert()});
  CAPTURE(wrong_name.err);
  CHECK(wrong_name.exit_code == 1);
  CHECK(wrong_name.err.find("not issued for 'other.example.org'") !=
        std::string::npos);

  // A CA that did not sign the hub's certificate is named as such.
  const CommandResult wrong_ca =
      list({"--hub", "https://hub.example.org:" + port, "--hub-address",
            "127.0.0.1", "--cacert", pki.dir() + "/other-ca.crt"});
  CAPTURE(wrong_ca.err);
  CHECK(wrong_ca.exit_code == 1);
  CHECK(wrong_ca.err.find("check that --cacert is the CA") !=
        std::string::npos);
  CHECK(wrong_ca.err.find("not issued for") == std::string::npos);

  // The same call with the hub stopped: unreachable, exit 3.
  REQUIRE(h.Stop());
  const CommandResult stopped_hub =
      list({"--hub", "https://hub.example.org:" + port, "--hub-address",
            "127.0.0.1", "--cacert", pki.CaCert()});
  CAPTURE(stopped_hub.err);
  CHECK(stopped_hub.exit_code == 3);
  CHECK(stopped_hub.err.find("cannot connect to") != std::string::npos);
}

// What cairnctl finds wrong with its own command line or the local files it
// names exits 2, whatever the command, and the message names the option to
// change; nothing is done. A refusal by the hub (the unknown member of
// cert sign) stays 1.
TEST_CASE(
    "cairnctl exits 2 naming the option for bad command lines and local "
    "input it detects itself, 1 for the hub's refusals") {
  auto hub = RunningHub::Start();
  REQUIRE(hub);
  RunningHub& h = **hub;
  const TempPki& pki = h.Pki();
  const auto timeout = std::chrono::seconds(30);
  // A member's CSR with CN=gamma, and a backup of the hub (which has audit
  // entries: init and the members the harness registered).
  const std::string csr = pki.dir() + "/gamma.csr";
  REQUIRE(
      RunCommand({"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                  pki.dir() + "/gamma.key", "-subj", "/CN=gamma", "-out", csr},
                 timeout)
          .exit_code == 0);
  const std::string backup = h.Scratch().File("hub.backup");
  REQUIRE(
      RunCairnctl({"backup", "--data", h.DataDir(), "--out", backup}, timeout)
          .exit_code == 0);
  const auto backup_last = QueryInt64(backup, "SELECT max(seq) FROM audit_log");
  REQUIRE(backup_last >= 2);
  const std::string restored = h.Scratch().File("restored");
  const std::string nowhere = h.Scratch().File("no-hub-here");
  const std::string out = h.Scratch().File("issued.crt");
  std::filesystem::create_directories(h.Scratch().File("bare"));
  const std::string bare_config = h.Scratch().File("bare/cairnd.toml");
  REQUIRE(WriteFile(bare_config, "[store]\ntombstone_days = 30\n"));
  auto sign = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {
        "cert",      "sign",       "--csr",    csr,
        "--ca-cert", pki.CaCert(), "--ca-key", pki.dir() + "/ca.key",
        "--member",  "gamma",      "--out",    out};
    for (auto& e : extra) args.push_back(std::move(e));
    return args;
  };
  auto with = [](std::vector<std::string> args, std::size_t index,
                 std::string value) {
    args.at(index) = std::move(value);
    return args;
  };

  struct Case {
    const char* what;
    std::vector<std::string> args;
    bool with_credentials;
    int exit_code;
    std::vector<std::string> messages;  // each a substring of stderr
  };
  const Case cases[] = {
      {"cert sign --days over the maximum",
       sign({"--days", "826", "--no-register"}),
       false,
       2,
       {"--days", "826", "1 to 825"}},
      {"cert sign with a CSR whose CN is not --member",
       with(sign({"--no-register"}), 9, "alpha"),
       false,
       2,
       {"--member", "CN is 'gamma'"}},
      {"cert sign with a missing CSR file",
       with(sign({"--no-register"}), 3, pki.dir() + "/missing.csr"),
       false,
       2,
       {"--csr", "missing.csr"}},
      {"cert sign with a certificate as the CSR",
       with(sign({"--no-register"}), 3, pki.Cert("beta")),
       false,
       2,
       {"--csr", "no PEM certificate signing request"}},
      {"cert sign with the CA key of another CA",
       with(sign({"--no-register"}), 7, pki.dir() + "/other-ca.key"),
       false,
       2,
       {"--ca-key", "other-ca.key"}},
      {"init with an expired operator certificate",
       {"init", "--data", nowhere, "--operator-cert", pki.Cert("expired")},
       false,
       2,
       {"--operator-cert", pki.Cert("expired"), "expired at", "--no-register"}},
      {"init with a server certificate as the operator's",
       {"init", "--data", nowhere, "--operator-cert", pki.ServerCert()},
       false,
       2,
       {"--operator-cert", "lacks clientAuth", "--no-register"}},
      {"restore --after-seq below the backup's last entry",
       {"restore", "--from", backup, "--data", restored, "--after-seq",
        std::to_string(backup_last - 1)},
       false,
       2,
       {"--after-seq", std::to_string(backup_last - 1),
        "(" + std::to_string(backup_last) + ")"}},
      {"restore from a missing backup",
       {"restore", "--from", h.Scratch().File("missing.backup"), "--data",
        restored},
       false,
       2,
       {"--from", "missing.backup"}},
      {"restore from a file that is no database",
       {"restore", "--from", csr, "--data", restored},
       false,
       2,
       {"--from", "gamma.csr"}},
      {"backup of a directory without a hub",
       {"backup", "--data", nowhere, "--out", h.Scratch().File("b2")},
       false,
       2,
       {"--data", "no-hub-here"}},
      {"purge of a directory without a hub",
       {"purge", "--data", nowhere, "--dry-run", "--tombstone-days", "30",
        "--match-retention-days", "730", "--disposition-retention-days", "730",
        "--notification-retention-days", "730"},
       false,
       2,
       {"--data", "no-hub-here"}},
      // The default data directory, next to the configuration file.
      {"purge with a configuration whose hub has no database",
       {"purge", "--config", bare_config, "--dry-run"},
       false,
       2,
       {"--config", "no hub database at " + h.Scratch().File("bare/data")}},
      // The hub refuses: 1.
      {"cert sign for a member the hub does not know",
       sign({}),
       true,
       1,
       {"no member 'gamma'"}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    const CommandResult r =
        c.with_credentials ? h.Ctl(c.args) : RunCairnctl(c.args, timeout);
    CAPTURE(r.out, r.err);
    CHECK(r.exit_code == c.exit_code);
    for (const std::string& message : c.messages) {
      CHECK_THAT(r.err, Catch::Contains(message));
    }
    CHECK_FALSE(std::filesystem::exists(out));
    CHECK_FALSE(std::filesystem::exists(nowhere));
    CHECK_FALSE(std::filesystem::exists(restored + "/cairn.db"));
  }
}

// cairnd's default store.data_dir is "data" next to the configuration file,
// not in the working directory (/ under systemd), and the refusal to start
// without a database names it as an absolute path, in the cairnctl init
// command it suggests too.
TEST_CASE(
    "cairnd looks for its default data directory next to its configuration "
    "file and names it absolutely") {
  TempDir root;
  std::filesystem::create_directories(root.File("etc"));
  std::filesystem::create_directories(root.File("elsewhere"));
  REQUIRE(WriteFile(root.File("etc/cairnd.toml"),
                    "[tls]\ncert = \"s.crt\"\nkey = \"s.key\"\nca = "
                    "\"ca.crt\"\n"));
  // Started from another directory with a relative --config.
  const CommandResult r = RunCommand(
      {"sh", "-c", "cd \"$1\" && exec \"$2\" --config ../etc/cairnd.toml", "sh",
       root.File("elsewhere"), RunningHub::CairndPath()},
      std::chrono::seconds(30));
  CAPTURE(r.out, r.err);
  CHECK(r.exit_code != 0);
  const std::string data = root.File("etc/data");
  CHECK_THAT(r.err,
             Catch::Contains("no hub database at " + data + "/cairn.db") &&
                 Catch::Contains("cairnctl init --data " + data + " "));
  CHECK_FALSE(std::filesystem::exists(root.File("elsewhere/data")));
}

}  // namespace
}  // namespace cairn::testing
