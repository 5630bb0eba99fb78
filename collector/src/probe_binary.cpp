#include "probe_binary.h"

#include "tracer.h"

#include <fmt/format.h>

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <utility>
#include <vector>

namespace wqscope {

ProbeBinary::ProbeBinary(ProbeBinary&& o) noexcept : fd_(std::exchange(o.fd_, -1)), shown_(std::move(o.shown_)) {}

ProbeBinary& ProbeBinary::operator=(ProbeBinary&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
    shown_ = std::move(o.shown_);
  }
  return *this;
}

ProbeBinary::~ProbeBinary() {
  if (fd_ >= 0) ::close(fd_);
}

std::string ProbeBinary::attach_path() const { return fmt::format("/proc/self/fd/{}", fd_); }

namespace {

constexpr std::uint64_t kMaxSections = 4096;       // real binaries have tens
constexpr std::uint64_t kMaxNoteBytes = 1u << 20;  // a note section; .note.stapsdt is a few KiB

bool read_at(int fd, void* buf, std::uint64_t len, std::uint64_t off, std::uint64_t file_size) {
  if (off > file_size || len > file_size - off) return false;
  return ::pread(fd, buf, len, static_cast<off_t>(off)) == static_cast<ssize_t>(len);
}

// One note section: stapsdt notes (type 3) hold three addresses (the probe's, .stapsdt.base's and its
// semaphore's), then provider, name and args as strings. Returns the semaphore's address (0: none), or
// nullopt if the probe is not there.
std::optional<std::uint64_t> usdt_in_notes(const std::vector<char>& sec, std::string_view provider,
                                           std::string_view name) {
  auto pad = [](std::uint64_t n) { return (n + 3) & ~std::uint64_t{3}; };
  for (std::uint64_t at = 0; sec.size() - at >= sizeof(Elf64_Nhdr);) {
    Elf64_Nhdr nh;
    std::memcpy(&nh, sec.data() + at, sizeof nh);
    at += sizeof nh;
    std::uint64_t namesz = pad(nh.n_namesz), descsz = pad(nh.n_descsz);
    // A note that claims more than its section holds: the section lies, nothing in it is trusted.
    if (namesz > sec.size() - at || descsz > sec.size() - at - namesz) return std::nullopt;
    std::string_view owner(sec.data() + at, nh.n_namesz);
    std::string_view desc(sec.data() + at + namesz, nh.n_descsz);
    at += namesz + descsz;
    if (nh.n_type != 3 || owner != std::string_view("stapsdt", 8) || desc.size() < 3 * 8) continue;
    std::uint64_t semaphore;
    std::memcpy(&semaphore, desc.data() + 2 * 8, sizeof semaphore);
    desc.remove_prefix(3 * 8);
    auto next = [&desc] {
      auto end = desc.find('\0');
      std::string_view s = desc.substr(0, end);
      desc.remove_prefix(end == std::string_view::npos ? desc.size() : end + 1);
      return s;
    };
    if (next() == provider && next() == name) return semaphore;
  }
  return std::nullopt;
}

// The ELF header and section headers of the file open at `fd`, read with bounds; nullopt if it is not
// a 64-bit ELF file or lies about its sizes.
struct Elf {
  Elf64_Ehdr eh;
  std::vector<Elf64_Shdr> sections;
  std::uint64_t size;
};
std::optional<Elf> read_elf(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  Elf e{};
  e.size = static_cast<std::uint64_t>(st.st_size);
  if (!read_at(fd, &e.eh, sizeof e.eh, 0, e.size) || std::memcmp(e.eh.e_ident, ELFMAG, SELFMAG) != 0 ||
      e.eh.e_ident[EI_CLASS] != ELFCLASS64 || e.eh.e_shentsize != sizeof(Elf64_Shdr) || e.eh.e_shnum == 0 ||
      e.eh.e_shnum > kMaxSections)
    return std::nullopt;
  e.sections.resize(e.eh.e_shnum);
  if (!read_at(fd, e.sections.data(), e.sections.size() * sizeof(Elf64_Shdr), e.eh.e_shoff, e.size))
    return std::nullopt;
  return e;
}

// The first stapsdt note of provider:name in the file's note sections (each at most 1 MiB).
std::optional<std::uint64_t> find_usdt(int fd, const Elf& e, const char* provider, const char* name) {
  std::vector<char> notes;
  for (auto& sh : e.sections) {
    if (sh.sh_type != SHT_NOTE || sh.sh_size > kMaxNoteBytes) continue;
    notes.resize(sh.sh_size);
    if (!read_at(fd, notes.data(), sh.sh_size, sh.sh_offset, e.size)) continue;
    if (auto sem = usdt_in_notes(notes, provider, name)) return sem;
  }
  return std::nullopt;
}

// The executable file mappings of /proc/PID/maps, one per file, in address order (the executable first).
std::vector<MapsEntry> file_mappings(pid_t pid) {
  std::ifstream maps(fmt::format("/proc/{}/maps", pid));
  if (!maps) throw TracerError(fmt::format("process {}: cannot read its memory map: {}", pid, std::strerror(errno)));
  std::vector<MapsEntry> out;
  std::set<std::pair<std::uint64_t, unsigned long>> seen;
  for (std::string line; std::getline(maps, line);) {
    auto m = parse_maps_line(line);
    if (!m || m->inode == 0 || m->perms[2] != 'x' || m->path.empty()) continue;
    if (!seen.emplace(makedev(m->dev_major, m->dev_minor), m->inode).second) continue;
    out.push_back(std::move(*m));
  }
  return out;
}

// The mapped file itself, read-only, or -1 if it is not a regular file or no longer the mapping's.
// O_PATH first: nothing is opened (no device's open, no FIFO's wait) before it is known to be that file.
int open_mapping(pid_t pid, const MapsEntry& m) {
  int path_fd = ::open(fmt::format("/proc/{}/map_files/{:x}-{:x}", pid, m.start, m.end).c_str(), O_PATH | O_CLOEXEC);
  if (path_fd < 0 && (errno == EPERM || errno == EACCES)) {
    // map_files needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE: by name then, the inode check decides.
    path_fd = ::open(m.path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
  }
  if (path_fd < 0) return -1;
  struct stat st;
  int fd = -1;
  if (::fstat(path_fd, &st) == 0 && S_ISREG(st.st_mode) && major(st.st_dev) == m.dev_major &&
      minor(st.st_dev) == m.dev_minor && st.st_ino == m.inode)
    fd = ::open(fmt::format("/proc/self/fd/{}", path_fd).c_str(), O_RDONLY | O_NOCTTY | O_CLOEXEC);
  ::close(path_fd);
  return fd;
}

}  // namespace

std::optional<MapsEntry> parse_maps_line(const std::string& line) {
  MapsEntry m;
  int path_at = 0;
  if (std::sscanf(line.c_str(), "%lx-%lx %4s %lx %x:%x %lu %n", &m.start, &m.end, m.perms, &m.offset, &m.dev_major,
                  &m.dev_minor, &m.inode, &path_at) < 7 ||
      m.end < m.start)
    return std::nullopt;
  if (path_at > 0) m.path = line.substr(static_cast<std::size_t>(path_at));
  return m;
}

bool elf_has_usdt(int fd, const char* provider, const char* name) {
  auto e = read_elf(fd);
  return e && find_usdt(fd, *e, provider, name);
}

std::optional<std::uint64_t> usdt_semaphore_offset(int fd, const char* provider, const char* name, std::uint64_t len) {
  auto e = read_elf(fd);
  if (!e || e->eh.e_phentsize != sizeof(Elf64_Phdr) || e->eh.e_phnum == 0 || e->eh.e_phnum > kMaxSections)
    return std::nullopt;
  auto sem = find_usdt(fd, *e, provider, name);
  if (!sem || *sem == 0) return std::nullopt;
  std::vector<Elf64_Phdr> segments(e->eh.e_phnum);
  if (!read_at(fd, segments.data(), segments.size() * sizeof(Elf64_Phdr), e->eh.e_phoff, e->size))
    return std::nullopt;
  // The semaphore's bytes, all of them in the file part of one writable loaded segment. (A prelinked
  // file's notes would need .stapsdt.base's correction; a wrong address lands in no such segment, or
  // in the file's own writable data.)
  for (auto& ph : segments) {
    if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_W) || *sem < ph.p_vaddr || ph.p_filesz < len ||
        *sem - ph.p_vaddr > ph.p_filesz - len || ph.p_offset > e->size)
      continue;
    return ph.p_offset + (*sem - ph.p_vaddr);
  }
  return std::nullopt;
}

ProbeBinary probe_binary_of(pid_t pid) {
  if (::access(fmt::format("/proc/{}", pid).c_str(), F_OK) != 0)
    throw TracerError(fmt::format("no process {}: check the pid (it may have exited)", pid));
  auto mappings = file_mappings(pid);
  for (auto& m : mappings) {
    int fd = open_mapping(pid, m);
    if (fd < 0) continue;
    ProbeBinary file(fd, m.path);
    if (elf_has_usdt(fd, "cmwq", "batch")) return file;
  }
  throw TracerError(fmt::format("process {} ({}) does not use libcmwq: none of the files it maps has a cmwq:batch "
                                "probe",
                                pid, mappings.empty() ? std::string("no file mapped") : mappings.front().path));
}

}  // namespace wqscope
