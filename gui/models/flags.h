// Flag words as names, in the kernel's spelling.
#pragma once

#include <QString>

namespace wqgui {

/// "WQ_UNBOUND | WQ_MEM_RECLAIM"; ordered workqueues say "ordered" instead of WQ_UNBOUND | __WQ_ORDERED.
QString workqueueFlags(unsigned flags);
/// "DISASSOCIATED | MANAGER_ACTIVE", or "" for 0.
QString poolFlags(unsigned flags);

}  // namespace wqgui
