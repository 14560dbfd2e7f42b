-- hostile: Lua 5.4.4 crashes on long chains of coroutine.close
-- expect: load {dir}/hostile.lua:3: error: undefined global 'coroutine'
local co = coroutine.wrap(function() end)
