#!/bin/bash
#
# otel-openstack devstack plugin: trace what an `openstack` command does on the wire.
#
#   stack install      install otel-openstack from $OTEL_OPENSTACK_DIR
#   stack post-config  put the WSGI filter into the paste ini of each traced service
#                      (`otel-openstack enable-wsgi`), wrap keystone's and placement's
#                      uWSGI application, give each service its OTEL_* environment
#                      (a systemd drop-in per devstack@*.service unit), restart the
#                      units that are already running (keystone is, by then)
#   unstack            undo all of that: the files are again what devstack wrote
#   clean              remove the spool folder
#
# The functions also work on their own, on any copy of the files: source
# `settings` (optional) and this file, then for example
#
#   otel_openstack_enable_service glance-api /tmp/glance-api-paste.ini
#   otel_openstack_disable_service glance-api /tmp/glance-api-paste.ini
#   otel_openstack_enable_service keystone /tmp/keystone-uwsgi-public.ini
#
# They call devstack's helpers (is_service_enabled, iniget, iniset, inidelete,
# setup_develop, pip_install, die, echo_summary) and sudo/systemctl for the
# drop-ins; SYSTEMD_DIR and every path can be overridden.

_XTRACE_OTEL_OPENSTACK=$(set +o | grep xtrace)
set +o xtrace

# devstack's names of a traced service (any of them enabled: it runs).
function _otel_openstack_devstack_names {
    case "$1" in
        keystone) echo "key keystone" ;;
        glance-api) echo "g-api" ;;
        nova-api) echo "n-api" ;;
        cinder-api) echo "c-api" ;;
        neutron-server) echo "q-svc neutron-api" ;;
        swift-proxy-server) echo "s-proxy" ;;
        placement-api) echo "placement-api" ;;
        *) return 1 ;;
    esac
}

# otel_openstack_service_enabled NAME: does devstack run this service?
function otel_openstack_service_enabled {
    local names
    names=$(_otel_openstack_devstack_names "$1") || return 1
    # shellcheck disable=SC2086
    is_service_enabled $names
}

# otel_openstack_unit NAME: the service's systemd unit.
function otel_openstack_unit {
    case "$1" in
        keystone) echo "devstack@keystone.service" ;;
        glance-api) echo "devstack@g-api.service" ;;
        nova-api) echo "devstack@n-api.service" ;;
        cinder-api) echo "devstack@c-api.service" ;;
        neutron-server)
            # neutron under uWSGI (the default now) is neutron-api; the eventlet server is q-svc
            if is_service_enabled neutron-api; then
                echo "devstack@neutron-api.service"
            else
                echo "devstack@q-svc.service"
            fi
            ;;
        swift-proxy-server) echo "devstack@s-proxy.service" ;;
        placement-api) echo "devstack@placement-api.service" ;;
        *) return 1 ;;
    esac
}

# otel_openstack_config_file NAME: the file the plugin edits (paste ini, or uWSGI ini).
function otel_openstack_config_file {
    case "$1" in
        keystone) echo "${KEYSTONE_PUBLIC_UWSGI_CONF:-${KEYSTONE_CONF_DIR:-/etc/keystone}/keystone-uwsgi-public.ini}" ;;
        glance-api) echo "${GLANCE_API_PASTE_INI:-${GLANCE_CONF_DIR:-/etc/glance}/glance-api-paste.ini}" ;;
        nova-api) echo "${NOVA_API_PASTE_INI:-${NOVA_CONF_DIR:-/etc/nova}/api-paste.ini}" ;;
        cinder-api) echo "${CINDER_API_PASTE_INI:-${CINDER_CONF_DIR:-/etc/cinder}/api-paste.ini}" ;;
        neutron-server) echo "${Q_API_PASTE_FILE:-${NEUTRON_CONF_DIR:-/etc/neutron}/api-paste.ini}" ;;
        swift-proxy-server) echo "${SWIFT_CONFIG_PROXY_SERVER:-${SWIFT_CONF_DIR:-/etc/swift}/proxy-server.conf}" ;;
        placement-api) echo "${PLACEMENT_UWSGI_CONF:-${PLACEMENT_CONF_DIR:-/etc/placement}/placement-uwsgi.ini}" ;;
        *) return 1 ;;
    esac
}

# keystone and placement build their WSGI pipeline in code: their app is wrapped instead.
function _otel_openstack_wraps_app {
    [[ "$1" == "keystone" || "$1" == "placement-api" ]]
}

function _otel_openstack_cmd {
    # shellcheck disable=SC2086
    ${OTEL_OPENSTACK_CMD:-otel-openstack} "$@"
}

# otel_openstack_enable_service NAME [FILE]: trace one service (FILE: its paste
# ini, or its uWSGI ini for keystone and placement-api; default: devstack's).
function otel_openstack_enable_service {
    local name=$1
    local file=${2:-}
    if [[ -z "$file" ]]; then
        file=$(otel_openstack_config_file "$name") || die $LINENO "otel-openstack: unknown service $name"
    fi
    if _otel_openstack_wraps_app "$name"; then
        otel_openstack_wrap_uwsgi "$name" "$file"
        return
    fi
    local where=(--before "${OTEL_OPENSTACK_PASTE_BEFORE:-authtoken}")
    if [[ -n "${OTEL_OPENSTACK_PASTE_AFTER:-}" ]]; then
        where=(--after "$OTEL_OPENSTACK_PASTE_AFTER")
    fi
    _otel_openstack_cmd enable-wsgi "$file" --service-name "$name" "${where[@]}"
}

# otel_openstack_disable_service NAME [FILE]: undo otel_openstack_enable_service.
function otel_openstack_disable_service {
    local name=$1
    local file=${2:-}
    if [[ -z "$file" ]]; then
        file=$(otel_openstack_config_file "$name") || die $LINENO "otel-openstack: unknown service $name"
    fi
    if _otel_openstack_wraps_app "$name"; then
        otel_openstack_unwrap_uwsgi "$name" "$file"
        return
    fi
    if [[ ! -f "$file" ]]; then
        return 0
    fi
    _otel_openstack_cmd disable-wsgi "$file"
}

function _otel_openstack_wrapper_module {
    echo "otel_openstack_wsgi_${1//-/_}"
}

# otel_openstack_wrap_uwsgi NAME UWSGI_INI: point uWSGI at a module, written
# next to the ini, that wraps the service's application with our middleware.
# devstack's ini names the application with `module = pkg.mod:application`
# (or, before 2025, `wsgi-file = /path/to/script`); both are handled.
function otel_openstack_wrap_uwsgi {
    local name=$1
    local ini=$2
    local dir module current wsgi_file
    dir=$(dirname "$ini")
    module=$(_otel_openstack_wrapper_module "$name")
    if [[ ! -f "$ini" ]]; then
        die $LINENO "otel-openstack: $ini not found: cannot wrap $name"
    fi
    current=$(iniget "$ini" uwsgi module)
    if [[ "$current" == "$module:application" ]]; then
        echo "otel-openstack: $ini: $name is wrapped already"
        return 0
    fi
    wsgi_file=$(iniget "$ini" uwsgi wsgi-file)
    if [[ -z "$current" && -z "$wsgi_file" ]]; then
        die $LINENO "otel-openstack: $ini has neither module nor wsgi-file in [uwsgi]"
    fi
    if [[ "$current$wsgi_file" == *[\"\\]* ]]; then
        die $LINENO "otel-openstack: $ini: unexpected quote or backslash in module/wsgi-file"
    fi
    cp -p "$ini" "$ini.otel-openstack.bak"
    cat > "$dir/$module.py" <<EOF
"""$name's WSGI application, wrapped by otel-openstack's middleware.

Written by the otel-openstack devstack plugin, which pointed $ini
here (module = $module:application); ./unstack.sh puts the original back
($ini.otel-openstack.bak) and removes this file.
"""

import importlib
import runpy

from otel_openstack.instrumentation.wsgi import wrap

ORIGINAL_MODULE = "$current"
ORIGINAL_FILE = "$wsgi_file"

if ORIGINAL_MODULE:
    _module, _, _callable = ORIGINAL_MODULE.partition(":")
    _app = getattr(importlib.import_module(_module), _callable or "application")
else:
    _app = runpy.run_path(ORIGINAL_FILE, run_name="otel_openstack_wsgi_file")["application"]

application = wrap(_app, service_name="$name")
EOF
    iniset "$ini" uwsgi module "$module:application"
    if [[ -n "$wsgi_file" ]]; then
        inidelete "$ini" uwsgi wsgi-file
    fi
    iniset "$ini" uwsgi pythonpath "$dir"
    echo "otel-openstack: $ini: $name now runs $dir/$module.py (the original is in $ini.otel-openstack.bak)"
}

# otel_openstack_unwrap_uwsgi NAME UWSGI_INI: undo otel_openstack_wrap_uwsgi.
function otel_openstack_unwrap_uwsgi {
    local name=$1
    local ini=$2
    local dir module
    dir=$(dirname "$ini")
    module=$(_otel_openstack_wrapper_module "$name")
    if [[ -f "$ini.otel-openstack.bak" ]]; then
        if [[ -f "$ini" && "$(iniget "$ini" uwsgi module)" == "$module:application" ]]; then
            mv -f "$ini.otel-openstack.bak" "$ini"
        else
            rm -f "$ini.otel-openstack.bak"  # devstack rewrote the ini since: the backup is stale
        fi
    fi
    rm -f "$dir/$module.py" "$dir/__pycache__/$module".*.pyc
    rmdir "$dir/__pycache__" 2>/dev/null || true
}

function _otel_openstack_dropin {
    local unit
    unit=$(otel_openstack_unit "$1") || return 1
    echo "${SYSTEMD_DIR:-/etc/systemd/system}/$unit.d/otel-openstack.conf"
}

# otel_openstack_write_dropin NAME: the OTEL_* environment of the service's unit.
function otel_openstack_write_dropin {
    local name=$1
    local dropin exporters=otel_openstack
    dropin=$(_otel_openstack_dropin "$name") || die $LINENO "otel-openstack: unknown service $name"
    if [[ -n "${OTEL_OPENSTACK_OTLP_ENDPOINT:-}" ]]; then
        exporters=otel_openstack,otlp
    fi
    sudo mkdir -p "$(dirname "$dropin")"
    {
        echo "# Written by the otel-openstack devstack plugin; ./unstack.sh removes it."
        echo "[Service]"
        echo "Environment=\"OTEL_SERVICE_NAME=$name\""
        echo "Environment=\"OTEL_TRACES_EXPORTER=$exporters\""
        echo "Environment=\"OTEL_METRICS_EXPORTER=none\""
        echo "Environment=\"OTEL_LOGS_EXPORTER=none\""
        echo "Environment=\"OTEL_OPENSTACK_SPOOL_DIR=$OTEL_OPENSTACK_SPOOL_DIR\""
        if [[ -n "${OTEL_OPENSTACK_OTLP_ENDPOINT:-}" ]]; then
            echo "Environment=\"OTEL_EXPORTER_OTLP_ENDPOINT=$OTEL_OPENSTACK_OTLP_ENDPOINT\""
        fi
    } | sudo tee "$dropin" >/dev/null
}

function otel_openstack_remove_dropin {
    local dropin
    dropin=$(_otel_openstack_dropin "$1") || return 0
    sudo rm -f "$dropin"
    sudo rmdir "$(dirname "$dropin")" 2>/dev/null || true
}

function otel_openstack_install {
    if [[ "${OTEL_OPENSTACK_USE_CONSTRAINTS:-True}" == "True" ]]; then
        setup_develop "$OTEL_OPENSTACK_DIR"
    else
        pip_install -e "$OTEL_OPENSTACK_DIR"
    fi
}

# otel_openstack_post_config: trace every enabled service of OTEL_OPENSTACK_SERVICES.
function otel_openstack_post_config {
    local name unit traced=()
    mkdir -p "$OTEL_OPENSTACK_SPOOL_DIR"
    chmod 0700 "$OTEL_OPENSTACK_SPOOL_DIR"
    mkdir -p "$(dirname "$OTEL_OPENSTACK_ENV_FILE")"
    echo "export OTEL_OPENSTACK_SPOOL_DIR=$OTEL_OPENSTACK_SPOOL_DIR" > "$OTEL_OPENSTACK_ENV_FILE"
    for name in $OTEL_OPENSTACK_SERVICES; do
        if ! _otel_openstack_devstack_names "$name" >/dev/null; then
            echo "otel-openstack: unknown service $name in OTEL_OPENSTACK_SERVICES: skipped" >&2
            continue
        fi
        otel_openstack_service_enabled "$name" || continue
        otel_openstack_enable_service "$name"
        otel_openstack_write_dropin "$name"
        traced+=("$name")
    done
    sudo systemctl daemon-reload
    for name in "${traced[@]}"; do
        unit=$(otel_openstack_unit "$name")
        if systemctl is-active --quiet "$unit"; then
            sudo systemctl restart "$unit"
        fi
    done
}

# otel_openstack_unstack: undo otel_openstack_post_config (services still enabled or not).
function otel_openstack_unstack {
    local name
    for name in $OTEL_OPENSTACK_SERVICES; do
        _otel_openstack_devstack_names "$name" >/dev/null || continue
        otel_openstack_disable_service "$name" || echo "otel-openstack: could not take the filter out of $name" >&2
        otel_openstack_remove_dropin "$name"
    done
    sudo systemctl daemon-reload
}

function otel_openstack_clean {
    rm -rf "$OTEL_OPENSTACK_SPOOL_DIR" "$OTEL_OPENSTACK_ENV_FILE"
}

if [[ $# -gt 0 ]] && is_service_enabled otel-openstack; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        echo_summary "Installing otel-openstack"
        otel_openstack_install
    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        echo_summary "Tracing the API services with otel-openstack"
        otel_openstack_post_config
    elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
        echo_summary "otel-openstack: source $OTEL_OPENSTACK_ENV_FILE before tracing an openstack command"
    fi
    if [[ "$1" == "unstack" ]]; then
        otel_openstack_unstack
    fi
    if [[ "$1" == "clean" ]]; then
        otel_openstack_clean
    fi
fi

$_XTRACE_OTEL_OPENSTACK
