// Decompression bombs against the running gateway (issue 14, point 6): N photos at once that are
// tiny on the wire and just under the 50-megapixel cap when decoded, posted to
// POST /api/v1/reports, while the gateway's resident memory is sampled from /proc/PID/status.
// Prints the gateway's RSS before, its peak during the bombs (sampled every 5 ms) and its VmHWM
// (the kernel's high-water mark over the process's life), and the answers by status.
//
//   photo_bombs --port 18090 --pid 1234 --kind jpeg|heic|mixed --count 64 [--heic FILE]
#include <turbojpeg.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <httplib.h>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

// kB of a field ("VmRSS", "VmHWM") of /proc/PID/status, or -1.
long StatusKb(int pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
    }
  }
  return -1;
}

// A uniform grey width x height JPEG (4:2:0), to be turned: a few hundred KB that libjpeg must
// hold as width x height x 1.5 coefficients of 2 bytes, twice, to turn.
std::string JpegBomb(int width, int height) {
  std::vector<unsigned char> y(static_cast<size_t>(width) * height, 128);
  std::vector<unsigned char> c(static_cast<size_t>((width + 1) / 2) * ((height + 1) / 2), 128);
  const unsigned char* planes[3] = {y.data(), c.data(), c.data()};
  tjhandle tj = tjInitCompress();
  unsigned char* out = nullptr;
  unsigned long size = 0;
  if (tjCompressFromYUVPlanes(tj, planes, width, nullptr, height, TJSAMP_420, &out, &size, 75,
                              0) != 0) {
    std::fprintf(stderr, "tjCompressFromYUVPlanes: %s\n", tjGetErrorStr2(tj));
    std::exit(1);
  }
  std::string jpeg(reinterpret_cast<const char*>(out), size);
  tjFree(out);
  tjDestroy(tj);
  // EXIF orientation 6 (turn 90° clockwise), the default of a phone held upright: the gateway
  // then holds the coefficients twice (the worst case the cap allows).
  const std::string exif(
      "\xFF\xE1\x00\x22"
      "Exif\0\0"
      "MM\0*\0\0\0\x08"
      "\0\x01"
      "\x01\x12\0\x03\0\0\0\x01\0\x06\0\0"
      "\0\0\0\0",
      36);
  return jpeg.substr(0, 2) + exif + jpeg.substr(2);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    std::exit(1);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Arg(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) {
      return argv[i + 1];
    }
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const int port = std::stoi(Arg(argc, argv, "--port", "18090"));
  const int pid = std::stoi(Arg(argc, argv, "--pid", "0"));
  const std::string kind = Arg(argc, argv, "--kind", "mixed");
  const int count = std::stoi(Arg(argc, argv, "--count", "64"));
  const std::string heic_path = Arg(argc, argv, "--heic", "tests/data/bomb-48mp.heic");
  if (pid <= 0 || StatusKb(pid, "VmRSS") < 0) {
    std::fprintf(stderr, "usage: photo_bombs --port PORT --pid GATEWAY_PID [--kind jpeg|heic|mixed]"
                         " [--count N] [--heic FILE]\n");
    return 2;
  }
  const std::string jpeg = JpegBomb(8000, 6000);  // 48 MP
  const std::string heic = ReadFile(heic_path);   // 8000x6000, tests/data/heif_samples.cpp
  std::printf("bombs: %d x %s; jpeg 8000x6000 %zu bytes, heic 8000x6000 %zu bytes\n", count,
              kind.c_str(), jpeg.size(), heic.size());

  const long before_kb = StatusKb(pid, "VmRSS");
  std::atomic<bool> done{false};
  std::atomic<long> peak_kb{before_kb};
  std::thread sampler([&] {
    while (!done.load()) {
      long kb = StatusKb(pid, "VmRSS");
      if (kb > peak_kb.load()) {
        peak_kb.store(kb);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // sampling, not synchronising
    }
  });

  std::mutex mu;
  std::map<int, int> statuses;
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> clients;
  for (int i = 0; i < count; ++i) {
    const bool use_heic = kind == "heic" || (kind == "mixed" && i % 2 == 1);
    clients.emplace_back([&, use_heic] {
      httplib::Client client("127.0.0.1", port);
      client.set_read_timeout(600, 0);
      client.set_write_timeout(60, 0);
      httplib::MultipartFormDataItems items = {
          {"description", "Schlagloch (Bombe)", "", ""},
          {"photos", use_heic ? heic : jpeg, use_heic ? "bombe.heic" : "bombe.jpg",
           use_heic ? "image/heic" : "image/jpeg"}};
      auto res = client.Post("/api/v1/reports", items);
      std::lock_guard<std::mutex> lock(mu);
      ++statuses[res ? res->status : -static_cast<int>(res.error())];
    });
  }
  for (auto& t : clients) {
    t.join();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  done.store(true);
  sampler.join();

  std::printf("seconds: %.1f\n", seconds);
  for (const auto& [status, n] : statuses) {
    std::printf("status %d: %d\n", status, n);
  }
  std::printf("rss_before_mb: %.0f\n", before_kb / 1024.0);
  std::printf("rss_peak_mb: %.0f\n", peak_kb.load() / 1024.0);
  std::printf("vmhwm_mb: %.0f\n", StatusKb(pid, "VmHWM") / 1024.0);
  return 0;
}
