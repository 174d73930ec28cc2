#!/bin/bash
# HEALTHCHECK helper for images without curl: httpcheck PORT PATH [STATUS_REGEX]; exit 0 when it answers.
exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "${2:-/}" >&3
read -r -t 3 status <&3 || exit 1
[[ $status =~ ^HTTP/[0-9.]+\ ${3:-2[0-9][0-9]} ]]
