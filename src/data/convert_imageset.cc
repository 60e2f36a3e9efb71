// Caffe's convert_imageset: a folder of images and a list file
// ("relative/path label" per line) to a database of Datums, written as
// Caffe's tool writes them (keys "%08d_<path>" numbered by list line, raw
// CHW bytes or the encoded file, commits every 1000) so Caffe's Data layer
// reads the result as its own. Unlike Caffe's tool, an unreadable image or a
// malformed line is an error naming the file and line (Caffe logs it and
// leaves the image out), and the database is built under a temporary name
// and renamed when complete, so a failed run leaves nothing half written.
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <utility>
#include <vector>

#include "deepspark/common.hpp"
#include "deepspark/data_transformer.hpp"
#include "deepspark/db.hpp"
#include "deepspark/io.hpp"
#include "deepspark/progress.hpp"
#include "deepspark/tools.hpp"

namespace deepspark {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string ExtensionOf(const std::string& path) {
  const size_t dot = path.rfind('.');
  const size_t slash = path.rfind('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  return Lower(path.substr(dot + 1));
}

// Caffe's matchExt: the file already has the requested encoding.
bool MatchesEncoding(const std::string& path, const std::string& encoding) {
  const std::string ext = ExtensionOf(path);
  return ext == encoding || (encoding == "jpg" && ext == "jpeg");
}

std::vector<std::pair<std::string, int>> ReadListFile(const std::string& list_file) {
  std::ifstream in(list_file);
  REQUIRE(in.good()) << "cannot open list file " << list_file;
  std::vector<std::pair<std::string, int>> lines;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    // The label follows the last space, so a file name may hold spaces.
    const size_t space = line.find_last_of(' ');
    REQUIRE(space != std::string::npos && space > 0)
        << list_file << ", line " << number << ": expected 'path label', got '" << line << "'";
    const std::string label_text = line.substr(space + 1);
    char* end = nullptr;
    const long label = std::strtol(label_text.c_str(), &end, 10);
    REQUIRE(!label_text.empty() && *end == '\0' && label >= INT32_MIN && label <= INT32_MAX)
        << list_file << ", line " << number << ": label '" << label_text << "' is not an integer";
    lines.emplace_back(line.substr(0, space), static_cast<int>(label));
  }
  return lines;
}

// Caffe's ReadImageToDatum with an encoding: the file's own bytes when it
// is already in that encoding at its size and colour, else re-encoded.
void ImageToDatum(const std::string& path, int label, const ConvertImagesetOptions& opt,
                  const std::string& encoding, caffe::Datum* datum) {
  const bool is_color = !opt.gray;
  if (encoding.empty()) {
    ReadImageToDatum(path, label, opt.resize_height, opt.resize_width, is_color, datum);
    return;
  }
  cv::Mat image = cv::imread(path, is_color ? cv::IMREAD_COLOR : cv::IMREAD_GRAYSCALE);
  REQUIRE(!image.empty()) << "cannot read image " << path;
  const bool resize = opt.resize_height > 0 && opt.resize_width > 0;
  datum->Clear();
  datum->set_label(label);
  datum->set_encoded(true);
  if ((image.channels() == 3) == is_color && !opt.resize_height && !opt.resize_width &&
      MatchesEncoding(path, encoding)) {
    datum->set_data(ReadFileToString(path));
    return;
  }
  if (resize) {
    cv::Mat resized;
    cv::resize(image, resized, cv::Size(opt.resize_width, opt.resize_height));
    image = resized;
  }
  std::vector<uchar> bytes;
  REQUIRE(cv::imencode("." + encoding, image, bytes))
      << "cannot encode " << path << " as " << encoding;
  datum->set_data(std::string(bytes.begin(), bytes.end()));
}

}  // namespace

int ConvertImageset(const ConvertImagesetOptions& opt) {
  std::vector<std::pair<std::string, int>> lines = ReadListFile(opt.list_file);
  REQUIRE(!lines.empty()) << "list file " << opt.list_file << " names no images";
  if (opt.shuffle) {
    const std::vector<uint32_t> perm = SeededPermutation(lines.size(), opt.shuffle_seed);
    std::vector<std::pair<std::string, int>> shuffled;
    shuffled.reserve(lines.size());
    for (uint32_t i : perm) shuffled.push_back(lines[i]);
    lines.swap(shuffled);
  }
  LOG(INFO) << "A total of " << lines.size() << " images.";
  const std::string encode_type = Lower(opt.encode_type);
  const bool encoded = opt.encoded || !encode_type.empty();
  if (!encode_type.empty() && !opt.encoded) {
    LOG(INFO) << "encode_type specified, assuming encoded=true.";
  }
  struct stat st;
  REQUIRE(stat(opt.db_path.c_str(), &st) != 0) << "database " << opt.db_path << " exists";
  const std::string partial = opt.db_path + ".partial";
  std::filesystem::remove_all(partial);
  int count = 0;
  try {
    auto db = db::GetDB(opt.backend);
    db->Open(partial, db::NEW);
    auto txn = db->NewTransaction();
    ProgressMeter progress("files", lines.size());
    size_t data_size = 0;
    for (size_t line_id = 0; line_id < lines.size(); ++line_id) {
      const std::string& name = lines[line_id].first;
      std::string encoding = encode_type;
      if (encoded && encoding.empty()) {
        encoding = ExtensionOf(name);  // as Caffe: guessed from the file name
        REQUIRE(!encoding.empty())
            << "cannot guess the encoding of " << name << " (no extension): pass --encode_type";
      }
      caffe::Datum datum;
      try {
        ImageToDatum(opt.root_folder + name, lines[line_id].second, opt, encoding, &datum);
      } catch (const Error& e) {
        THROW_ERROR() << opt.list_file << ", image " << line_id + 1 << " of " << lines.size()
                      << ": " << e.what();
      }
      if (opt.check_size) {
        if (line_id == 0) {
          data_size = datum.data().size();
        } else {
          REQUIRE(datum.data().size() == data_size)
              << opt.root_folder << name << ": " << datum.data().size()
              << " bytes of data where the first image had " << data_size << " (--check_size)";
        }
      }
      char key[16];
      std::snprintf(key, sizeof(key), "%08zu", line_id);
      txn->Put(std::string(key) + "_" + name, datum.SerializeAsString());
      if (++count % 1000 == 0) {
        txn->Commit();
        progress.Update(count);
      }
    }
    txn->Commit();
    txn.reset();
    db->Close();
    progress.Finish(count);
  } catch (...) {
    std::filesystem::remove_all(partial);
    throw;
  }
  std::filesystem::rename(partial, opt.db_path);
  return count;
}

}  // namespace deepspark
