-- hostile: reads the forbidden global 'collectgarbage'
-- expect: load {dir}/hostile.lua:3: error: undefined global 'collectgarbage'
local x = collectgarbage
