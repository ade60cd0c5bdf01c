#!/bin/sh
# SQL is only ever parameterised (STYLE.md; issue 7's security review): fails if a source file
# formats SQL text with printf-style functions, or hands libpq a query that is not a literal or a
# statement constant. Values travel as $n parameters, never inside the text.
src=${1:?source dir}
fail=0
# 1. printf-family calls whose format is SQL: string-built statements
hits=$(grep -nE '(s?n?printf|sd_buf_printf|strcat|strcpy)\([^;]*"[^"]*\b(SELECT|INSERT INTO|UPDATE [a-z_]+ SET|DELETE FROM|WHERE [a-z_.]+ *=)' \
       "$src"/*/*.c "$src"/*.c 2>/dev/null)
if [ -n "$hits" ]; then
    echo "sql_params: SQL text built with a printf-style function:"
    echo "$hits"
    fail=1
fi
# 2. raw libpq calls: only the statement runner (store/db.c, store/pool.c) takes SQL from a
#    variable; elsewhere the SQL argument is a literal (macros of literals concatenated are fine)
raw=$(grep -nE '\bPQ(exec|execParams|prepare|sendQuery|sendQueryParams|sendPrepare|execPrepared)\(' \
      "$src"/*/*.c "$src"/*.c 2>/dev/null |
      grep -vE '^[^:]*/store/(db|pool)\.c:' |
      grep -vE '\bPQ[A-Za-z]+\([^,"]+, *"')
if [ -n "$raw" ]; then
    echo "sql_params: libpq called outside the statement runner with non-literal SQL:"
    echo "$raw"
    fail=1
fi
# 3. sd_db_exec_script only with literals or compiled-in text (migrations, static statements)
script=$(grep -nE 'sd_db_exec_script\(' "$src"/*/*.c | grep -vE 'sd_db_exec_script\([^,]+, *("|f->data|create_table_sql|staging_sql)' |
         grep -v 'enum sd_rc sd_db_exec_script')
if [ -n "$script" ]; then
    echo "sql_params: sd_db_exec_script with SQL that is not a compiled-in constant:"
    echo "$script"
    fail=1
fi
[ $fail -eq 0 ] && echo "sql_params: every statement is parameterised"
exit $fail
