// Clang thread-safety annotations: lock contracts the compiler checks.
// With clang and -Wthread-safety (tests/tools/thread_safety_check.sh), a read
// or write of a GUARDED_BY member without its mutex held, a call of a REQUIRES
// function without the lock, or a lock taken twice is a compile error. With
// any other compiler (the g++ build) every macro expands to nothing.
// See https://clang.llvm.org/docs/ThreadSafetyAnalysis.html.
#pragma once

#if defined(__clang__)
#define BERTH_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define BERTH_THREAD_ANNOTATION(x)
#endif

// A class that is a lock (util/mutex.h's Mutex).
#define CAPABILITY(x) BERTH_THREAD_ANNOTATION(capability(x))
// An RAII class that holds a lock for its lifetime (MutexLock).
#define SCOPED_CAPABILITY BERTH_THREAD_ANNOTATION(scoped_lockable)
// A member read or written only with the given mutex held.
#define GUARDED_BY(x) BERTH_THREAD_ANNOTATION(guarded_by(x))
// A pointer whose pointee is read or written only with the given mutex held.
#define PT_GUARDED_BY(x) BERTH_THREAD_ANNOTATION(pt_guarded_by(x))
// Lock ordering: this mutex is taken before / after the given ones.
#define ACQUIRED_BEFORE(...) BERTH_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define ACQUIRED_AFTER(...) BERTH_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
// A function called only with the given mutexes held (exclusively / shared).
#define REQUIRES(...) BERTH_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) BERTH_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
// A function that takes / releases the given mutexes (this one when none given).
#define ACQUIRE(...) BERTH_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define ACQUIRE_SHARED(...) BERTH_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#define RELEASE(...) BERTH_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) BERTH_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) BERTH_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
// A function called only without the given mutexes held (it takes them itself).
#define EXCLUDES(...) BERTH_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
// A function that checks at run time that the mutex is held (the analysis then assumes it).
#define ASSERT_CAPABILITY(x) BERTH_THREAD_ANNOTATION(assert_capability(x))
// A function that returns the given mutex (so a caller locking the result locks it).
#define RETURN_CAPABILITY(x) BERTH_THREAD_ANNOTATION(lock_returned(x))
// Turns the analysis off for one function: for the rare deliberate exception,
// always with a comment saying why it is safe.
#define NO_THREAD_SAFETY_ANALYSIS BERTH_THREAD_ANNOTATION(no_thread_safety_analysis)
