#!/bin/sh
# Answers with what the db service serves, asked for by its name on the compose network.
printf 'Content-Type: text/plain\r\n\r\n'
printf 'web fetched: '
wget -q -O - http://db:8080/ 2>&1
