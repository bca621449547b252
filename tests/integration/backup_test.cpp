// scripts/backup and scripts/restore (issue 17, point 4; docs/operations.md, "Backup and
// restore"): a restore into a new database gives the same tickets and photos, and a gateway on
// it serves them; damaged or wrong input is refused and changes nothing.
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/crypto.hpp"
#include "core/db.hpp"
#include "core/sql.hpp"
#include "stack.hpp"

// In a namespace of its own: the test binaries are compiled in batches of files (unity
// builds), where one file's helpers and using-directives must not meet another's.
namespace backup_test {

using namespace meldestelle;
using namespace meldestelle::testing;
namespace fs = std::filesystem;

namespace {

const std::string kScripts = std::string(MELDESTELLE_SOURCE_DIR) + "/scripts";

// The rows of `table` as JSON text, in an order that does not depend on how they were stored.
std::vector<std::string> Rows(const std::string& url, const std::string& table) {
  pqxx::connection c(url);
  pqxx::nontransaction tx(c);
  std::vector<std::string> rows;
  for (const auto& r : tx.exec("SELECT row_to_json(t)::text AS j FROM " + table + " t ORDER BY 1"))
    rows.push_back(r[0].as<std::string>());
  return rows;
}

bool DatabaseExists(Stack& s, const std::string& name) {
  return s.Count("SELECT count(*) FROM pg_database WHERE datname = " + Q(name)) == 1;
}

// Drops the restored databases when the test ends, however it ends.
struct DropDatabases {
  std::string admin_url;
  std::vector<std::string> names;
  ~DropDatabases() {
    try {
      pqxx::connection c(admin_url);
      pqxx::nontransaction tx(c);
      for (const auto& n : names)
        tx.exec0("DROP DATABASE IF EXISTS " + tx.quote_name(n) + " WITH (FORCE)");
    } catch (const std::exception&) {
    }
  }
};

fs::path BlobPath(const fs::path& root, const std::string& sha) {
  return root / sha.substr(0, 2) / sha.substr(2, 2) / sha;
}

struct stat StatOf(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st;
}

}  // namespace

TEST_CASE(
    "scripts/backup and scripts/restore: a restore into a new database gives the same "
    "tickets and photos, and bad input changes nothing",
    "[integration][backup]") {
  Stack s;
  // Two reports with photos (one photo twice: stored once), one without.
  for (const auto& photos :
       std::vector<std::vector<std::string>>{{Jpeg()}, {OtherJpeg(), Jpeg()}}) {
    httplib::MultipartFormDataItems items = {{"description", "Schlagloch am Markt", "", ""}};
    for (const auto& p : photos)
      items.push_back({"photos", p, "foto.jpg", "image/jpeg"});
    auto res = s.Client().Post("/api/v1/reports", items);
    REQUIRE(res);
    INFO(res->body);
    REQUIRE(res->status == 202);
  }
  const std::string text_ref = PostText(s, "Laterne in der Lindenstraße ist dunkel");
  INFO(s.WorkerLogs());
  REQUIRE(s.WaitForCount(kTickets, 3));
  REQUIRE(s.WaitForCount("SELECT count(*) FROM attachments", 3));

  const fs::path backup = s.dir() / "sicherung.tar";
  int status = -1;
  std::string out =
      s.RunShell("umask 022 && " + kScripts + "/backup --output " + backup.string(), &status);
  INFO(out);
  REQUIRE(status == 0);
  CHECK_THAT(out, Catch::Contains("3 tickets"));
  CHECK_THAT(out, Catch::Contains("2 files"));  // two distinct photos
  REQUIRE(fs::exists(backup));
  CHECK_FALSE(fs::exists(backup.string() + ".partial"));
  // It holds personal data: its owner's only, whatever the umask.
  CHECK((StatOf(backup).st_mode & 07777) == 0600);
  // A media folder that is not there is an error, not a backup without photos; one that holds
  // none of the photos the database names is the wrong folder.
  const fs::path no_photos = s.dir() / "ohne-fotos.tar";
  out = s.RunShell(kScripts + "/backup --media-dir " + (s.dir() / "no-such-media").string() +
                       " --output " + no_photos.string(),
                   &status);
  CHECK(status != 0);
  CHECK_THAT(out, Catch::Contains("does not exist"));
  CHECK_FALSE(fs::exists(no_photos));
  fs::create_directories(s.dir() / "empty-media");
  out = s.RunShell(kScripts + "/backup --media-dir " + (s.dir() / "empty-media").string() +
                       " --output " + no_photos.string(),
                   &status);
  CHECK(status != 0);
  CHECK_THAT(out, Catch::Contains("holds none of the 2 photos"));
  CHECK_FALSE(fs::exists(no_photos));
  // A second backup to the same name is refused; the first stays.
  const auto size = fs::file_size(backup);
  out = s.RunShell(kScripts + "/backup --output " + backup.string(), &status);
  CHECK(status != 0);
  CHECK_THAT(out, Catch::Contains("exists already"));
  CHECK(fs::file_size(backup) == size);

  const std::string base = db::DatabaseName(s.db_url());
  DropDatabases drop{db::WithDatabase(s.db_url(), "postgres"), {}};
  auto restore = [&](const std::string& name, const fs::path& media, const fs::path& file) {
    drop.names.push_back(name);
    return s.RunShell(kScripts + "/restore --database-url " + db::WithDatabase(s.db_url(), name) +
                          " --media-dir " + media.string() + " " + file.string(),
                      &status);
  };

  SECTION("the restore has the same tickets, history and photos, and a gateway serves them") {
    const std::string name = base + "_restored";
    const fs::path media = s.dir() / "restored-media";
    // Run as root (as the tests are), the restored files are the media folder's owner's.
    const struct passwd* nobody = ::getpwnam("nobody");
    const bool as_root = ::geteuid() == 0 && nobody != nullptr;
    const uid_t nobody_uid = nobody != nullptr ? nobody->pw_uid : 0;
    const gid_t nobody_gid = nobody != nullptr ? nobody->pw_gid : 0;
    if (as_root) {
      fs::create_directories(media);
      REQUIRE(::chown(media.c_str(), nobody_uid, nobody_gid) == 0);
    }
    out = restore(name, media, backup);
    INFO(out);
    REQUIRE(status == 0);
    CHECK_THAT(out, Catch::Contains("restored 3 tickets and 2 media files"));
    const std::string url = db::WithDatabase(s.db_url(), name);
    for (const char* table : {"tickets", "attachments", "ticket_history", "ticket_reporters",
                              "outbox", "intake_keys", "schema_migrations"}) {
      INFO(table);
      auto before = Rows(s.db_url(), table);
      if (std::string(table) == "tickets" || std::string(table) == "attachments")
        CHECK(before.size() == 3);
      CHECK(Rows(url, table) == before);
    }
    for (const auto& row : s.Query("SELECT DISTINCT sha256 FROM attachments")) {
      const std::string sha = row[0].as<std::string>();
      const std::string restored = ReadFile(BlobPath(media, sha));
      CHECK(restored == ReadFile(BlobPath(s.media_dir(), sha)));
      CHECK(Sha256Hex(restored) == sha);
      // The modes the processes give them (core/media.cpp, the units' UMask=0027).
      CHECK((StatOf(BlobPath(media, sha)).st_mode & 07777) == 0640);
      CHECK((StatOf(BlobPath(media, sha).parent_path()).st_mode & 07777) == 0750);
      if (as_root) {
        for (const fs::path& p : {BlobPath(media, sha), BlobPath(media, sha).parent_path(),
                                  BlobPath(media, sha).parent_path().parent_path()}) {
          INFO(p.string());
          CHECK(StatOf(p).st_uid == nobody_uid);
          CHECK(StatOf(p).st_gid == nobody_gid);
        }
      }
    }
    // A gateway on the restored database and media answers for the tickets.
    const int port = FreePort();
    auto gw = s.StartProcess(
        "gateway-restored", {"gateway"},
        {"MELDESTELLE_HTTP_PORT=" + std::to_string(port), "MELDESTELLE_INSTANCE_ID=7",
         "MELDESTELLE_DATABASE_URL=" + url, "MELDESTELLE_MEDIA_DIR=" + media.string()});
    httplib::Client c("127.0.0.1", port);
    REQUIRE(WaitFor([&] {
      auto r = c.Get("/readyz");
      return r && r->status == 200;
    }));
    auto page = c.Get("/api/v1/reports/" + text_ref);
    REQUIRE(page);
    INFO(page->body);
    CHECK(page->status == 200);
    CHECK_THAT(page->body, Catch::Contains(text_ref));
    gw->Stop();

    // Restoring into a database that holds tables (here: the same one again) is refused, and
    // neither the database nor the media change.
    const auto tickets = Rows(url, "tickets");
    fs::remove_all(media);
    out = restore(name, media, backup);
    CHECK(status != 0);
    CHECK_THAT(out, Catch::Contains("tables already"));
    CHECK(Rows(url, "tickets") == tickets);
    CHECK_FALSE(fs::exists(media));
  }

  SECTION("damaged or wrong files are refused before anything changes") {
    struct Case {
      const char* what;
      std::string make;  // shell commands writing $BAD from $GOOD (in the folder $W)
      const char* says;
    };
    const std::vector<Case> cases = {
        {"a truncated file", "head -c $(($(stat -c %s \"$GOOD\") / 2)) \"$GOOD\" >\"$BAD\"",
         "not a complete backup"},
        {"another tar file", "echo hallo >\"$W/x\" && tar -cf \"$BAD\" -C \"$W\" x",
         "not a Meldestelle backup"},
        {"a changed database dump",
         "tar -xf \"$GOOD\" -C \"$W\" && printf X | dd of=\"$W/meldestelle-backup/database.dump\" "
         "bs=1 seek=100 conv=notrunc 2>/dev/null && tar -cf \"$BAD\" -C \"$W\" meldestelle-backup",
         "is damaged"},
        {"a changed photo",
         "tar -xf \"$GOOD\" -C \"$W\" && f=$(find \"$W/meldestelle-backup/media\" -type f | head "
         "-n 1) && printf X | dd of=\"$f\" bs=1 seek=10 conv=notrunc 2>/dev/null && tar -cf "
         "\"$BAD\" -C \"$W\" meldestelle-backup",
         "do not match their names"},
        {"a file beside the backup",
         "tar -xf \"$GOOD\" -C \"$W\" && echo x >\"$W/extra\" && tar -cf \"$BAD\" -C \"$W\" "
         "meldestelle-backup extra",
         "holds more than a Meldestelle backup"},
        {"a link among the photos",
         "tar -xf \"$GOOD\" -C \"$W\" && ln -s /etc/passwd \"$W/meldestelle-backup/media/x\" && "
         "tar -cf \"$BAD\" -C \"$W\" meldestelle-backup",
         "not plain files"},
        // The file is whole as a tar, but a photo its SHA256SUMS lists is not in it.
        {"a photo taken out (tar --delete)",
         "cp \"$GOOD\" \"$BAD\" && tar --delete -f \"$BAD\" \"$(tar -tf \"$GOOD\" | grep /media/ | "
         "head -n 1)\"",
         "missing from it"},
        {"a file cut at a member's boundary, before its last photo",
         "n=$(tar -tRf \"$GOOD\" | sed -n 's,^block \\([0-9]*\\): meldestelle-backup/media/.*,"
         "\\1,p' | tail -n 1) && head -c $((n * 512)) \"$GOOD\" >\"$BAD\" && tar -tf \"$BAD\" "
         ">/dev/null",
         "not a complete one"},
        {"a photo taken out with its line in SHA256SUMS",
         "tar -xf \"$GOOD\" -C \"$W\" && cd \"$W/meldestelle-backup\" && f=$(find media -type f "
         "| head -n 1) && rm \"$f\" && grep -v \"$f\" SHA256SUMS >s && mv s SHA256SUMS && tar -cf "
         "\"$BAD\" -C \"$W\" meldestelle-backup",
         "names 2 media files"},
    };
    int n = 0;
    for (const auto& c : cases) {
      INFO(c.what);
      const fs::path work = s.dir() / ("bad-" + std::to_string(n));
      const fs::path bad = s.dir() / ("bad-" + std::to_string(n) + ".tar");
      fs::create_directories(work);
      std::string made = s.RunShell("GOOD=" + backup.string() + " BAD=" + bad.string() +
                                        " W=" + work.string() + "; " + c.make,
                                    &status);
      INFO(made);
      REQUIRE(status == 0);
      const std::string name = base + "_bad" + std::to_string(n);
      const fs::path media = s.dir() / ("bad-media-" + std::to_string(n));
      out = restore(name, media, bad);
      INFO(out);
      CHECK(status != 0);
      CHECK_THAT(out, Catch::Contains(c.says));
      CHECK_FALSE(DatabaseExists(s, name));
      CHECK_FALSE(fs::exists(media));
      ++n;
    }
    // A dump that passes the checksums but not pg_restore: the database made for it goes
    // again, and so do the photos it copied (those that were there before stay).
    const fs::path work = s.dir() / "bad-dump";
    fs::create_directories(work);
    const fs::path bad = s.dir() / "bad-dump.tar";
    s.RunShell("W=" + work.string() + "; tar -xf " + backup.string() +
                   " -C \"$W\" && cd \"$W/meldestelle-backup\" && head -c 2000 database.dump "
                   ">d && mv d database.dump && grep -v ' database.dump$' SHA256SUMS >s && "
                   "sha256sum database.dump >>s && mv s SHA256SUMS && tar -cf " +
                   bad.string() + " -C \"$W\" meldestelle-backup",
               &status);
    REQUIRE(status == 0);
    const std::string name = base + "_baddump";
    const fs::path bad_media = s.dir() / "bad-dump-media";
    const auto shas = s.Query("SELECT DISTINCT sha256 FROM attachments ORDER BY 1");
    REQUIRE(shas.size() == 2);
    const std::string kept = shas[0][0].as<std::string>();
    const std::string copied = shas[1][0].as<std::string>();
    fs::create_directories(BlobPath(bad_media, kept).parent_path());
    fs::copy_file(BlobPath(s.media_dir(), kept), BlobPath(bad_media, kept));
    out = restore(name, bad_media, bad);
    INFO(out);
    CHECK(status != 0);
    CHECK_THAT(out, Catch::Contains("pg_restore failed"));
    CHECK_FALSE(DatabaseExists(s, name));
    CHECK(ReadFile(BlobPath(bad_media, kept)) == ReadFile(BlobPath(s.media_dir(), kept)));
    CHECK_FALSE(fs::exists(BlobPath(bad_media, copied)));
    if (copied.substr(0, 2) != kept.substr(0, 2)) {
      CHECK_FALSE(fs::exists(bad_media / copied.substr(0, 2)));
    }
    // Usage errors.
    out = s.RunShell(kScripts + "/restore", &status);
    CHECK(status == 2);
    CHECK_THAT(out, Catch::Contains("which backup?"));
    out = s.RunShell(kScripts + "/backup --outptu x", &status);
    CHECK(status == 2);
    CHECK_THAT(out, Catch::Contains("unknown argument '--outptu'"));
  }
}

TEST_CASE(
    "scripts/backup: the recordings, chat photos and follow-up photos the database names count "
    "as its media, as the tickets' photos do",
    "[integration][backup]") {
  Stack s;
  const std::string ref = PostText(s, "Laterne in der Lindenstraße ist dunkel");
  REQUIRE(s.WaitForCount(kTickets, 1));
  // A file of each of the other places the database names media (privacy/anonymise.cpp,
  // UnreferencedCondition), and a recording that was deleted, which names none.
  auto blob = [&](const std::string& bytes) {
    const std::string sha = Sha256Hex(bytes);
    fs::create_directories(BlobPath(s.media_dir(), sha).parent_path());
    std::ofstream(BlobPath(s.media_dir(), sha), std::ios::binary) << bytes;
    return sha;
  };
  const std::string recording = blob("RIFF eine Sprachaufnahme");
  const std::string chat_photo = blob("ein Foto aus dem Chat");
  const std::string followup_photo = blob("ein nachgereichtes Foto");
  const std::string deleted = Sha256Hex("eine gelöschte Aufnahme");
  s.Query("INSERT INTO phone_calls (call_id, recording_sha256) VALUES ('CA1', " + Q(recording) +
          "), ('CA2', " + Q(deleted) + ")");
  s.Query("UPDATE phone_calls SET recording_deleted_at = now() WHERE call_id = 'CA2'");
  s.Query(
      "INSERT INTO chat_drafts (channel, sender, report_id, reference, first_message_id, "
      "deadline) VALUES ('telegram', '42', gen_random_uuid(), 'M-TEST-1', 'm1', now())");
  s.Query(
      "INSERT INTO chat_draft_items (draft_id, message_id, kind, sha256, media_type, size) "
      "SELECT id, 'm2', 'photo', " +
      Q(chat_photo) + ", 'image/jpeg', 21 FROM chat_drafts");
  s.Query(
      "INSERT INTO ticket_followups (ticket_id, channel, message_id, attachments) SELECT id, "
      "'email', 'f1', jsonb_build_array(jsonb_build_object('sha256', " +
      Q(followup_photo) +
      "::text, 'media_type', 'image/jpeg')) FROM tickets WHERE reference = " + Q(ref));

  int status = -1;
  // A folder that holds none of them is the wrong one (before, only the tickets' photos counted,
  // and there are none: this backup went through "with 0 files").
  fs::create_directories(s.dir() / "empty-media");
  const fs::path wrong = s.dir() / "falscher-ordner.tar";
  std::string out =
      s.RunShell(kScripts + "/backup --media-dir " + (s.dir() / "empty-media").string() +
                     " --output " + wrong.string(),
                 &status);
  INFO(out);
  CHECK(status != 0);
  CHECK_THAT(out, Catch::Contains("holds none of the 3 photos and recordings"));
  CHECK_FALSE(fs::exists(wrong));

  const fs::path backup = s.dir() / "sicherung.tar";
  out = s.RunShell(kScripts + "/backup --output " + backup.string(), &status);
  INFO(out);
  REQUIRE(status == 0);
  CHECK_THAT(out, Catch::Contains("3 files"));
  CHECK_THAT(out, !Catch::Contains("warning"));
  const std::string manifest =
      s.RunShell("tar -xOf " + backup.string() + " meldestelle-backup/MANIFEST", &status);
  CHECK_THAT(manifest, Catch::Contains("media_files=3"));
  CHECK_THAT(manifest, Catch::Contains("media_named_missing=0"));

  // One of them gone from the folder: counted as missing, and the backup still made.
  fs::remove(BlobPath(s.media_dir(), followup_photo));
  const fs::path partial = s.dir() / "ohne-ein-foto.tar";
  out = s.RunShell(kScripts + "/backup --output " + partial.string(), &status);
  CHECK(status == 0);
  CHECK_THAT(out, Catch::Contains("1 of the 3 photos and recordings the database names are not"));
  CHECK_THAT(out, Catch::Contains(followup_photo));
}

}  // namespace backup_test
