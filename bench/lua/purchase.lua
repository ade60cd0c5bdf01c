-- wrk: POST /v1/purchases, BENCH_BATCH purchases per request (1: one object; more: an array).
-- The same customer scheme as the pgbench ceiling (bench/sql/ceiling_purchase.sql): thread t owns
-- customers t*K+1 .. (t+1)*K (external ids BENCH_OFF + n, created beforehand) and its k-th request
-- buys for the next BENCH_BATCH of them, round robin, so both sides see the same customer states.
-- Environment: BENCH_KEY, BENCH_OFF, BENCH_K, BENCH_BATCH, BENCH_RUN, BENCH_AMOUNT ("25.00").
local nthreads = 0

function setup(thread)
    thread:set("tid", nthreads)
    nthreads = nthreads + 1
end

function init(args)
    key = os.getenv("BENCH_KEY")
    off = tonumber(os.getenv("BENCH_OFF"))
    K = tonumber(os.getenv("BENCH_K"))
    batch = tonumber(os.getenv("BENCH_BATCH"))
    run = os.getenv("BENCH_RUN")
    amount = os.getenv("BENCH_AMOUNT") or "25.00"
    slots = math.floor(K / batch)
    k = 0
    headers = {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json"}
end

function request()
    local n0 = tid * K + (k % slots) * batch + 1
    local items = {}
    for g = 0, batch - 1 do
        items[#items + 1] = string.format(
            '{"order_id": "r%st%d-%d", "customer_id": "%d", "amount": "%s"}',
            run, tid, k * batch + g, off + n0 + g, amount)
    end
    k = k + 1
    local body = items[1]
    if batch > 1 then
        body = "[" .. table.concat(items, ",") .. "]"
    end
    return wrk.format("POST", "/v1/purchases", headers, body)
end
