/* SPDX-License-Identifier: MIT
 * folio.pml — a model of netcache's folio protocol (src/folio/folio.h, rules 1-7), checked by
 * spin. One folio is read in (locked, held by its lock and the mapping's reference alone), gets
 * kFscache with its reference and is unlocked; a copy-to-cache completion ends the flag while an
 * invalidator, a waiter and reclaim race it, and freed memory is reused at once by another
 * owner. Wake-ups go through one hashed wait bucket with a mutex, as folio/wait_table.h does.
 *
 * Safety properties (assertions; spin also reports deadlocks as invalid end states):
 *   P1  no folio is freed while flagged (locked or kFscache), listed, or referenced;
 *   P2  every flag clear and wake-up lands on the live allocation it was meant for
 *       (never on freed or reused memory);
 *   P3  no lost wake-up: every waiter finishes (no invalid end state);
 *   P4  no leak: at the end the folio has been freed, with no flag or reference left.
 *
 * Build with -DBUG_PUT_BEFORE_WAKE, -DBUG_NO_FLAG_REF, -DBUG_WAKE_WITHOUT_LOCK or
 * -DBUG_RECLAIM_IGNORES_REFS to break one rule; model/check.sh expects a counter-example then.
 */

byte refs;        /* reference count */
bit fs;           /* kFscache */
bit locked;       /* kLocked */
bit in_mapping;   /* listed in the mapping (which then holds one reference) */
bit freed;        /* memory back in the pool */
byte gen;         /* allocation generation: bumped when the memory is reused */
bit bucket;       /* the wait bucket's mutex */
byte wakes;       /* wake-ups delivered on the bucket (a condition variable's sequence) */
byte asleep;      /* waiters sleeping on the bucket */

inline lock_bucket() { atomic { bucket == 0 -> bucket = 1 } }
inline unlock_bucket() { bucket = 0 }

/* WakeAll(address): P2 is checked where the wake-up is delivered. */
inline wake_all(my_gen) {
#ifdef BUG_WAKE_WITHOUT_LOCK
  atomic { assert(!freed && gen == my_gen); wakes++ }
#else
  lock_bucket();
  assert(!freed && gen == my_gen);
  wakes++;
  unlock_bucket();
#endif
}

/* Wait until `flag` is clear: test under the bucket mutex, then sleep until a later wake-up
 * (cv.wait releases the mutex and sleeps as one step; `seen` is taken under the mutex). */
inline wait_clear(flag) {
  do
  :: lock_bucket();
     if
     :: flag == 0 -> unlock_bucket(); break
     :: else -> seen = wakes; asleep++; unlock_bucket(); atomic { wakes != seen -> asleep-- }
     fi
  od
}

/* Put: the last reference frees (P1). */
inline put() {
  atomic {
    assert(refs > 0 && !freed);
    refs--;
    if
    :: refs == 0 -> assert(fs == 0 && locked == 0 && in_mapping == 0); freed = 1
    :: else -> skip
    fi
  }
}

/* The copy to the cache finishes: EndFscache. */
proctype CopyCompletion(byte my_gen) {
#if defined(BUG_PUT_BEFORE_WAKE)
  atomic { assert(!freed && gen == my_gen); fs = 0 }
  put();
  wake_all(my_gen);
#elif defined(BUG_NO_FLAG_REF)
  /* The flag never had a reference of its own (the pre-2021 PG_fscache). */
  atomic { assert(!freed && gen == my_gen); fs = 0 }
  wake_all(my_gen);
#else
  /* Rule 3: clear, wake, and only then put the flag's reference. */
  atomic { assert(refs > 0 && !freed && gen == my_gen); fs = 0 }
  wake_all(my_gen);
  put();
#endif
}

/* The read into the folio completes: it is uptodate; start its copy to the cache; unlock. */
proctype ReadCompletion() {
  byte my_gen = gen;
#ifndef BUG_NO_FLAG_REF
  /* Rule 2: the reference first, then the flag that implies it. */
  atomic { assert(!freed && gen == my_gen); refs++ }
#endif
  fs = 1;
  atomic { assert(!freed && gen == my_gen); locked = 0 }
  wake_all(my_gen);
  run CopyCompletion(my_gen);
}

/* Invalidation (rule 5): take the folio out of the mapping, keep the mapping's reference while
 * waiting for the lock and kFscache (rule 7), then drop it. */
proctype Invalidator() {
  byte seen;
  bit mine = 0;
  atomic { if :: in_mapping -> in_mapping = 0; mine = 1 :: else -> skip fi }
  if
  :: mine -> wait_clear(locked); wait_clear(fs); put()
  :: else -> skip
  fi
}

/* A reader that found the folio in the mapping and waits on it with its own reference. */
proctype Waiter() {
  byte seen;
  bit mine = 0;
  atomic { if :: in_mapping -> refs++; mine = 1 :: else -> skip fi }
  if
  :: mine -> wait_clear(locked); wait_clear(fs); put()
  :: else -> skip
  fi
}

#ifdef BUG_RECLAIM_IGNORES_REFS
#define RECLAIM_REFS_OK 1
#else
#define RECLAIM_REFS_OK (refs == 1)
#endif

/* Reclaim (rule 4): only an idle folio referenced by the mapping alone, claimed atomically. */
proctype Reclaimer() {
  atomic {
    if
    :: in_mapping && RECLAIM_REFS_OK && locked == 0 && fs == 0 -> in_mapping = 0; refs = 0; assert(fs == 0 && locked == 0); freed = 1
    :: else -> skip
    fi
  }
}

/* Another file allocates the freed memory at once, then lets it go again. */
proctype Reuser() {
end_idle:
  atomic { freed == 1 -> freed = 0; gen++; refs = 1; fs = 0; locked = 0; in_mapping = 0 }
  put();
}

init {
  /* A folio fresh from FindOrCreate for readahead: locked, listed, the mapping's reference only
   * (rule 6). */
  atomic {
    gen = 1; refs = 1; in_mapping = 1; locked = 1; fs = 0; freed = 0;
    run ReadCompletion();
    run Invalidator();
    run Waiter();
    run Reclaimer();
    run Reuser();
  }
  timeout;
  assert(asleep == 0);  /* P3: nobody sleeps forever */
  assert(freed == 1 && refs == 0 && fs == 0 && locked == 0 && in_mapping == 0)  /* P4 */
}
