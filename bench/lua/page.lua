-- wrk: GET one page of a cell's customers, starting after a random customer of that cell.
-- Environment: BENCH_KEY, BENCH_PATH (/v1/segments/F/R/customers?limit=1000), BENCH_CURSORS (a
-- file of customer ids, one a line, each followed by at least a page of the cell).
local b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

-- base64url without padding, as segmentd's cursors
local function cursor(s)
    local out, bits, nbits = {}, 0, 0
    for i = 1, #s do
        bits = bits * 256 + s:byte(i)
        nbits = nbits + 8
        while nbits >= 6 do
            nbits = nbits - 6
            local v = math.floor(bits / 2 ^ nbits) % 64
            out[#out + 1] = b64:sub(v + 1, v + 1)
        end
        bits = bits % 2 ^ nbits
    end
    if nbits > 0 then
        local v = (bits * 2 ^ (6 - nbits)) % 64
        out[#out + 1] = b64:sub(v + 1, v + 1)
    end
    return table.concat(out)
end

function init(args)
    path = os.getenv("BENCH_PATH")
    headers = {["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY")}
    cursors = {}
    for line in io.lines(os.getenv("BENCH_CURSORS")) do
        cursors[#cursors + 1] = cursor(line)
    end
    math.randomseed(os.time() + (tonumber(tostring(args):match("0x(%x+)"), 16) or 0) % 1000)
end

function request()
    local c = cursors[math.random(#cursors)]
    return wrk.format("GET", path .. "&after=" .. c, headers)
end
