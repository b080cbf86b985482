"""The GCRA decision as one Lua script, run atomically by Redis on its own clock.

One key holds the account's *theoretical arrival time* (TAT) in integer microseconds of the
Redis server's clock (``TIME``), so the clocks of the machines in the fleet play no part: a
worker whose clock is off by minutes still gets the same answer as every other. The script
reads the TAT, decides, writes the new TAT with an expiry (an idle account leaves nothing
behind) and returns the wait in microseconds, or -1 when the slot is further away than the
caller can wait (then nothing is reserved).

``TIME`` before a write is allowed because scripts are replicated by their effects (the default
from Redis 5, the only mode from Redis 7); ``redis.replicate_commands()`` asks for it on older
servers and is a no-op where it still exists.

Numbers are formatted with ``%.0f``: Lua's ``tostring`` keeps only 14 digits, which would
round a microsecond timestamp (16 digits) to a tenth of a millisecond.
"""

from __future__ import annotations

import hashlib

__all__ = ["ACQUIRE", "PENALIZE", "SCRIPT", "SCRIPT_SHA", "script_args"]

ACQUIRE = "acquire"
PENALIZE = "penalize"

SCRIPT = """\
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local interval = tonumber(ARGV[2])
local tolerance = tonumber(ARGV[3])
local new_tat
local result = 0
if ARGV[1] == 'acquire' then
  local wait = tat - tolerance - now
  if wait < 0 then wait = 0 end
  if wait > tonumber(ARGV[4]) then return -1 end
  new_tat = tat + interval
  result = wait
else
  new_tat = now + tonumber(ARGV[4]) + tolerance
  if new_tat <= tat then return 0 end
end
local ttl = math.floor((new_tat - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', string.format('%.0f', ttl))
return result
"""

SCRIPT_SHA = hashlib.sha1(SCRIPT.encode()).hexdigest()

#: The longest wait the script is asked to consider (about three years: ``max_wait=inf``).
_MAX_WAIT_US = 10**14


def _micros(seconds: float) -> int:
    if not seconds > 0:
        return 0
    return min(round(seconds * 1_000_000), _MAX_WAIT_US)


def script_args(op: str, interval: float, tolerance: float, amount: float) -> list[str]:
    """ARGV for one run: the operation, the schedule in microseconds, and the caller's
    ``max_wait`` (acquire) or the pause (penalize)."""
    return [op, str(_micros(interval)), str(_micros(tolerance)), str(_micros(amount))]
