// Finding the cmwq:batch probe in a file the target chose, without trusting the file: ELF images
// made here, whose note sections tell the truth or lie about their sizes.
#include "probe_binary.h"

#include <gtest/gtest.h>

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace wqscope {
namespace {

template <class T>
void append(std::string& out, const T& v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

void pad4(std::string& out) { out.resize((out.size() + 3) & ~std::size_t{3}); }

/// A stapsdt note (type 3) for provider:name, its semaphore at 0x4000, as the assembler writes it.
std::string stapsdt_note(std::string_view provider, std::string_view name) {
  std::string desc;
  for (std::uint64_t addr : {0x1000, 0x2000, 0x4000}) append(desc, addr);  // the probe, .stapsdt.base, the semaphore
  desc.append(provider).push_back('\0');
  desc.append(name).push_back('\0');
  desc.append("-4@%edi").push_back('\0');
  std::string note;
  append(note, Elf64_Nhdr{8, static_cast<Elf64_Word>(desc.size()), 3});
  note.append("stapsdt", 8);
  note += desc;
  pad4(note);
  return note;
}

/// A 64-bit ELF file of one note section holding `notes`, whose header says it is `size` bytes long
/// at file offset `offset` (by default: the truth).
std::string elf(const std::string& notes, std::uint64_t size = UINT64_MAX, std::uint64_t offset = UINT64_MAX) {
  std::string out(sizeof(Elf64_Ehdr), '\0');
  std::uint64_t notes_at = out.size();
  out += notes;
  out.resize((out.size() + 7) & ~std::size_t{7});
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_DYN;
  eh.e_machine = EM_X86_64;
  eh.e_version = EV_CURRENT;
  eh.e_ehsize = sizeof eh;
  eh.e_shoff = out.size();
  eh.e_shentsize = sizeof(Elf64_Shdr);
  eh.e_shnum = 2;
  std::memcpy(out.data(), &eh, sizeof eh);
  append(out, Elf64_Shdr{});  // section 0: none, as always
  Elf64_Shdr note{};
  note.sh_type = SHT_NOTE;
  note.sh_offset = offset == UINT64_MAX ? notes_at : offset;
  note.sh_size = size == UINT64_MAX ? notes.size() : size;
  note.sh_addralign = 4;
  append(out, note);
  return out;
}

/// `bytes` in an anonymous regular file (memfd), its fd open for the test.
class File {
 public:
  explicit File(const std::string& bytes) : fd_(::memfd_create("elf", MFD_CLOEXEC)) {
    EXPECT_GE(fd_, 0);
    EXPECT_EQ(::write(fd_, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
  ~File() { ::close(fd_); }
  int fd() const { return fd_; }

 private:
  int fd_;
};

bool has_batch(const std::string& bytes) { return elf_has_usdt(File(bytes).fd(), "cmwq", "batch"); }

TEST(ProbeBinary, AValidNoteHasTheProbe) {
  std::string notes = stapsdt_note("cmwq", "wait") + stapsdt_note("cmwq", "batch");
  EXPECT_TRUE(has_batch(elf(notes)));
  File f(elf(notes));
  EXPECT_TRUE(elf_has_usdt(f.fd(), "cmwq", "wait"));
  EXPECT_FALSE(elf_has_usdt(f.fd(), "cmwq", "other"));
  EXPECT_FALSE(elf_has_usdt(f.fd(), "other", "batch"));
  EXPECT_FALSE(has_batch(elf(stapsdt_note("cmwq", "wait"))));
}

// A note section cut inside its note: the note claims more bytes than the section has.
TEST(ProbeBinary, ATruncatedNoteSectionHasNone) {
  std::string note = stapsdt_note("cmwq", "batch");
  for (std::size_t cut : {std::size_t{4}, sizeof(Elf64_Nhdr) + 4, sizeof(Elf64_Nhdr) + 8 + 3 * 8, note.size() - 4})
    EXPECT_FALSE(has_batch(elf(note, note.size() - cut))) << "cut by " << cut;
}

// Sizes that lie: a note's name or description longer than its section (near 4 GiB), a section past the
// file's end or larger than any real one.
TEST(ProbeBinary, OversizedSizesHaveNone) {
  std::string note = stapsdt_note("cmwq", "batch");
  for (std::size_t field : {offsetof(Elf64_Nhdr, n_namesz), offsetof(Elf64_Nhdr, n_descsz)}) {
    for (Elf64_Word size : {Elf64_Word{0xffffffff}, Elf64_Word{0xfffffffd}, static_cast<Elf64_Word>(note.size())}) {
      std::string lying = note;
      std::memcpy(lying.data() + field, &size, sizeof size);
      EXPECT_FALSE(has_batch(elf(lying))) << "field at " << field << ", size " << size;
    }
  }
  EXPECT_FALSE(has_batch(elf(note, note.size() + 4096)));         // past the file's end
  EXPECT_FALSE(has_batch(elf(note, note.size(), UINT64_MAX - 8)));  // an offset that wraps
  std::string huge = note + std::string((1u << 20) + 4 - note.size(), '\0');  // 1 MiB and more
  EXPECT_FALSE(has_batch(elf(huge)));
  EXPECT_TRUE(has_batch(elf(std::string(341 * sizeof(Elf64_Nhdr), '\0') + note)));  // empty notes before it
}

TEST(ProbeBinary, NotARegularElfFileHasNone) {
  EXPECT_FALSE(has_batch(stapsdt_note("cmwq", "batch")));  // no ELF header
  std::string notes = stapsdt_note("cmwq", "batch");
  std::string e = elf(notes);
  e[EI_CLASS] = ELFCLASS32;
  EXPECT_FALSE(has_batch(e));
  int zero = ::open("/dev/zero", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(zero, 0);
  EXPECT_FALSE(elf_has_usdt(zero, "cmwq", "batch"));  // a device: never read
  ::close(zero);
}

}  // namespace
}  // namespace wqscope
