# Generates commands.json and webhooks.json, the corpus every request
# decoder and JSON Schema are held to (services/internal/groups and
# services/internal/webhook corpus tests). Run: cd schemas/testdata/corpus && python3 generate.py
# Add a case here, regenerate, commit both.
import json, base64, collections
DUP="JSON Schema validators see the parsed object, where one of two equal names has won: Roster refuses duplicate names (documented in every schema's $comment)"
UTF="not JSON text (RFC 8259 requires UTF-8): a validator's parser replaces the bytes with U+FFFD; Roster refuses them"
SUR="a \\u escape of a lone surrogate is not a Unicode string: a validator's parser replaces it with U+FFFD; Roster refuses it"
NUM="JSON Schema's integer is a value (60.0 is an integer), Go's is lexical: Roster refuses a fraction or exponent for integer fields"

def enc(d): return json.dumps(d, separators=(",",":"), ensure_ascii=False)
cases=[]
def add(subject, name, body, accept, go_only=None):
    c=collections.OrderedDict(subject=subject, name=name)
    if isinstance(body, bytes):
        c["body_base64"]=base64.b64encode(body).decode()
    else:
        c["body"]=body
    c["accept"]=accept
    if go_only: c["go_only"]=go_only
    cases.append(c)

def common(subject, base, text_fields=(), name_fields=(), id_fields=("actor",), required=()):
    b=enc(base)
    add(subject,"valid",b,True)
    add(subject,"whitespace around"," \n"+b+"\n",True)
    k=next(iter(base))
    add(subject,"escaped member name",b.replace('"%s"'%k,'"%s\\u%04x"'%(k[:-1],ord(k[-1])),1),True)
    add(subject,"name in another case",b.replace('"%s"'%k,'"%s"'%k.upper(),1),False)
    add(subject,"name capitalised",b.replace('"%s"'%k,'"%s"'%k.capitalize(),1),False)
    add(subject,"unknown member",b[:-1]+(',' if len(base) else '')+'"owner":"x"}',False)
    add(subject,"trailing brace",b+"}",False)
    add(subject,"trailing object",b+"{}",False)
    add(subject,"trailing garbage",b+" x",False)
    add(subject,"array",'['+b+']',False)
    add(subject,"byte-order mark",'\ufeff'+b,False)
    add(subject,"unterminated",b[:-1],False)
    add(subject,"trailing comma",b[:-1]+',}',False)
    for r in required:
        d=dict(base); del d[r]
        add(subject,"without "+r,enc(d),False)
    for f in id_fields:
        v=base[f]
        add(subject,f+" duplicated",b[:-1]+',"%s":"mallory"}'%f,False,DUP)
        add(subject,f+" duplicated in another case",b[:-1]+',"%s":"mallory"}'%f.upper(),False)
        add(subject,f+" null",b.replace('"%s":"%s"'%(f,v),'"%s":null'%f,1),False)
        add(subject,f+" number",b.replace('"%s":"%s"'%(f,v),'"%s":7'%f,1),False)
        add(subject,f+" 64 characters",b.replace('"%s":"%s"'%(f,v),'"%s":"%s"'%(f,"a"*64),1),True)
        add(subject,f+" 65 characters",b.replace('"%s":"%s"'%(f,v),'"%s":"%s"'%(f,"a"*65),1),False)
        # An empty command_id or endpoint id means "none given".
        add(subject,f+" empty",b.replace('"%s":"%s"'%(f,v),'"%s":""'%f,1),f=="command_id" or (subject=="endpoint.create" and f=="id"))
        add(subject,f+" with a dot",b.replace('"%s":"%s"'%(f,v),'"%s":"a.b"'%f,1),False)
        add(subject,f+" with NUL",b.replace('"%s":"%s"'%(f,v),'"%s":"a\\u0000"'%f,1),False)
        add(subject,f+" non-ASCII",b.replace('"%s":"%s"'%(f,v),'"%s":"caf\u00e9"'%f,1),False)
        pre,post=b.split('"%s":"%s"'%(f,v),1)
        add(subject,f+" invalid UTF-8",(pre+'"%s":"a'%f).encode()+b'\xff"'+post.encode(),False,UTF)
    for f in name_fields+text_fields:
        v=base[f]; one=f in name_fields
        def w(x): return b.replace('"%s":%s'%(f,json.dumps(v)),'"%s":%s'%(f,x),1)
        add(subject,f+" unicode",w('"Caf\u00e9 \u540d\u524d \U0001F600"'),True)
        add(subject,f+" escaped surrogate pair",w('"\\ud83d\\ude00"'),True)
        add(subject,f+" lone surrogate",w('"a\\ud800"'),False,SUR)
        add(subject,f+" lone low surrogate",w('"\\udc00a"'),False,SUR)
        add(subject,f+" tab",w('"a\\tb"'),not one)
        add(subject,f+" line feed",w('"a\\nb"'),not one)
        add(subject,f+" carriage return",w('"a\\r\\nb"'),False)
        add(subject,f+" NUL",w('"a\\u0000b"'),False)
        add(subject,f+" ANSI escape",w('"\\u001b[31mred\\u001b[0m"'),False)
        add(subject,f+" DEL",w('"a\u007fb"'),False)
        add(subject,f+" C1 control",w('"a\u009bb"'),False)
        add(subject,f+" right-to-left override",w('"a\u202eb"'),False)
        add(subject,f+" left-to-right mark",w('"\\u200ea"'),False)
        add(subject,f+" first isolate",w('"\u2068a"'),False)
        add(subject,f+" byte-order mark inside",w('"a\\ufeff"'),False)
        add(subject,f+" zero-width joiner (allowed)",w('"a\u200db"'),True)
        add(subject,f+" null",w('null'),False)
        pre,post=b.split('"%s":%s'%(f,json.dumps(v)),1)
        add(subject,f+" invalid UTF-8",(pre+'"%s":"a'%f).encode()+b'\xc3"'+post.encode(),False,UTF)

def lengths(subject, base, f, maxlen, one):
    b=enc(base); v=base[f]
    def w(x): return b.replace('"%s":%s'%(f,json.dumps(v)),'"%s":%s'%(f,json.dumps(x,ensure_ascii=False)),1)
    add(subject,"%s %d characters of 2 bytes"%(f,maxlen),w("\u00e9"*maxlen),True)
    add(subject,"%s %d characters"%(f,maxlen+1),w("a"*(maxlen+1)),False)
    add(subject,"%s %d characters of 4 bytes"%(f,maxlen),w("\U0001F600"*maxlen),True)

E={"group_id":"g1","actor":"owner"}
def env(**kw):
    d=dict(E); d.update(kw); return d

cmds={
 "group.create": (env(command_id="c-1",name="Hikers",intro="Weekend\nhikes",join_policy="open",members=["u1","u2"]),("intro",),("name",),("group_id","actor","command_id"),("group_id","actor","name")),
 "group.update": (env(name="Hikers",intro="x"),("intro",),("name",),("group_id","actor"),("group_id","actor")),
 "group.dismiss": (env(),(),(),("group_id","actor"),("group_id","actor")),
 "group.mute": (env(),(),(),("group_id","actor"),("group_id","actor")),
 "group.unmute": (env(),(),(),("group_id","actor"),("group_id","actor")),
 "group.transfer": (env(new_owner="u2"),(),(),("group_id","actor","new_owner"),("group_id","actor","new_owner")),
 "member.invite": (env(user_ids=["u1","u2"]),(),(),("group_id","actor"),("group_id","actor","user_ids")),
 "member.remove": (env(user_ids=["u1"]),(),(),("group_id","actor"),("group_id","actor","user_ids")),
 "member.join": (env(message="hello"),("message",),(),("group_id","actor"),("group_id","actor")),
 "member.quit": (env(),(),(),("group_id","actor"),("group_id","actor")),
 "member.approve": (env(user_id="u1"),(),(),("group_id","actor","user_id"),("group_id","actor","user_id")),
 "member.reject": (env(user_id="u1",reason="no"),("reason",),(),("group_id","actor","user_id"),("group_id","actor","user_id")),
 "member.set_role": (env(user_id="u1",role="admin"),(),(),("group_id","actor","user_id"),("group_id","actor","user_id","role")),
 "member.mute": (env(user_id="u1",duration_seconds=60),(),(),("group_id","actor","user_id"),("group_id","actor","user_id","duration_seconds")),
 "member.unmute": (env(user_id="u1"),(),(),("group_id","actor","user_id"),("group_id","actor","user_id")),
 "member.set_info": (env(user_id="u1",nickname="Nick",face_url="https://f/x.png",ex="{\"k\":1}",role="admin"),("ex",),("nickname","face_url"),("group_id","actor","user_id"),("group_id","actor","user_id")),
}
for s,(base,texts,names,ids,req) in cmds.items():
    common(s,base,texts,names,ids,req)
# The issue's own example.
add("group.create","issue 10: GROUP_ID and Actor after group_id",'{"group_id":"a","actor":"owner","name":"n","GROUP_ID":"b","Actor":"mallory"}',False)
add("group.create","issue 10: group_id twice",'{"group_id":"a","actor":"owner","name":"n","group_id":"b"}',False,DUP)
add("group.create","command_id empty means none",enc(env(command_id="",name="n")),True)
add("group.create","join_policy empty",enc(env(name="n",join_policy="")),False)
add("group.create","join_policy in another case",enc(env(name="n",join_policy="OPEN")),False)
add("group.create","join_policy unknown",enc(env(name="n",join_policy="closed")),False)
add("group.create","members empty",enc(env(name="n",members=[])),True)
add("group.create","members with a duplicate",enc(env(name="n",members=["u1","u1"])),False)
add("group.create","members with a bad id",enc(env(name="n",members=["u 1"])),False)
add("group.create","members with null",'{"group_id":"g1","actor":"owner","name":"n","members":["u1",null]}',False)
add("group.create","members 1000",enc(env(name="n",members=["u%d"%i for i in range(1000)])),True)
add("group.create","members 1001",enc(env(name="n",members=["u%d"%i for i in range(1001)])),False)
add("group.create","members not an array",enc(env(name="n",members="u1")),False)
add("group.create","name empty",enc(env(name="")),False)
lengths("group.create",env(name="n"),"name",256,True)
lengths("group.create",env(name="n",intro="i"),"intro",2048,False)
lengths("member.join",env(message="m"),"message",1024,False)
lengths("member.reject",env(user_id="u1",reason="r"),"reason",1024,False)
# Issue 12: OpenIM's group model.
add("group.create","admins",enc(env(name="n",admins=["a1","a2"],members=["u1"])),True)
add("group.create","admins with a duplicate",enc(env(name="n",admins=["a1","a1"])),False)
add("group.create","admins with a bad id",enc(env(name="n",admins=["a.1"])),False)
add("group.create","admins 1001",enc(env(name="n",admins=["a%d"%i for i in range(1001)])),False)
add("group.create","admins and members 1001 together",enc(env(name="n",admins=["a%d"%i for i in range(501)],members=["u%d"%i for i in range(500)])),False,"the cap counts admins and members together, which a schema cannot state")
add("group.create","OpenIM group fields",enc(env(name="n",face_url="https://f/x.png",ex="{\"k\":1}",notification="Read\nme",look_member_info=1,apply_member_friend=0)),True)
add("group.create","look_member_info 2",enc(env(name="n",look_member_info=2)),False)
add("group.create","apply_member_friend -1",enc(env(name="n",apply_member_friend=-1)),False)
add("group.create","look_member_info string",enc(env(name="n",look_member_info="1")),False)
add("group.create","look_member_info 1.0",'{"group_id":"g1","actor":"owner","name":"n","look_member_info":1.0}',False,NUM)
add("group.create","face_url with a line feed",enc(env(name="n",face_url="a\nb")),False)
add("group.create","join_policy all_approval",enc(env(name="n",join_policy="all_approval")),True)
add("group.create","admissions are not a caller field",enc(env(name="n",members=["u1"],admissions={"u1":{"role":"admin"}})),False)
lengths("group.create",env(name="n",face_url="f"),"face_url",2048,True)
lengths("group.create",env(name="n",ex="e"),"ex",4096,False)
lengths("group.create",env(name="n",notification="x"),"notification",4096,False)
add("group.update","face_url only",enc(env(face_url="f")),True)
add("group.update","look_member_info 0 only",enc(env(look_member_info=0)),True)
add("group.update","apply_member_friend 3",enc(env(apply_member_friend=3)),False)
add("group.update","notification empty clears it",enc(env(notification="")),True)
add("group.update","join_policy all_approval",enc(env(join_policy="all_approval")),True)
add("member.invite","reason",enc(env(user_ids=["u1"],reason="Friends\nfrom work")),True)
add("member.invite","admissions are not a caller field",enc(env(user_ids=["u1"],admissions={"u1":{}})),False)
lengths("member.invite",env(user_ids=["u1"],reason="r"),"reason",1024,False)
add("member.remove","reason",enc(env(user_ids=["u1"],reason="spam")),True)
lengths("member.remove",env(user_ids=["u1"],reason="r"),"reason",1024,False)
for src in (2,3,4):
    add("member.join","source %d"%src,enc(env(source=src)),True)
for src in (0,1,5):
    add("member.join","source %d"%src,enc(env(source=src)),False)
add("member.join","source string",enc(env(source="3")),False)
add("member.join","source 3.0",'{"group_id":"g1","actor":"owner","source":3.0}',False,NUM)
add("member.join","admission is not a caller field",enc(env(admission={"role":"admin"})),False)
lengths("member.join",env(ex="e"),"ex",4096,False)
add("member.set_info","only user_id",enc(env(user_id="u1")),False)
add("member.set_info","nickname empty clears it",enc(env(user_id="u1",nickname="")),True)
add("member.set_info","role only",enc(env(user_id="u1",role="member")),True)
add("member.set_info","role owner",enc(env(user_id="u1",role="owner")),False)
add("member.set_info","role null",'{"group_id":"g1","actor":"owner","user_id":"u1","role":null}',False)
add("member.set_info","without user_id",enc(env(nickname="n")),False)
lengths("member.set_info",env(user_id="u1",nickname="n"),"nickname",256,True)
add("group.update","nothing to change",enc(env()),False)
add("group.update","name empty",enc(env(name="")),False)
add("group.update","name null",'{"group_id":"g1","actor":"owner","name":null}',False)
add("group.update","join_policy empty",enc(env(join_policy="")),False)
add("group.update","join_policy approval",enc(env(join_policy="approval")),True)
add("member.invite","user_ids empty",enc(env(user_ids=[])),False)
add("member.invite","user_ids duplicate",enc(env(user_ids=["a","a"])),False)
add("member.invite","user_ids 1001",enc(env(user_ids=["u%d"%i for i in range(1001)])),False)
add("member.invite","user_ids object",'{"group_id":"g1","actor":"owner","user_ids":{"a":1}}',False)
add("member.remove","user_ids with NUL",enc(env(user_ids=["a\u0000"])),False)
add("member.set_role","role owner",enc(env(user_id="u1",role="owner")),False)
add("member.set_role","role member",enc(env(user_id="u1",role="member")),True)
add("member.set_role","role Admin",enc(env(user_id="u1",role="Admin")),False)
add("member.mute","duration 60.0",'{"group_id":"g1","actor":"owner","user_id":"u1","duration_seconds":60.0}',False,NUM)
add("member.mute","duration 6e1",'{"group_id":"g1","actor":"owner","user_id":"u1","duration_seconds":6e1}',False,NUM)
add("member.mute","duration 0",enc(env(user_id="u1",duration_seconds=0)),False)
add("member.mute","duration 2592000",enc(env(user_id="u1",duration_seconds=2592000)),True)
add("member.mute","duration 2592001",enc(env(user_id="u1",duration_seconds=2592001)),False)
add("member.mute","duration string",'{"group_id":"g1","actor":"owner","user_id":"u1","duration_seconds":"60"}',False)
add("member.mute","duration huge",'{"group_id":"g1","actor":"owner","user_id":"u1","duration_seconds":99999999999999999999}',False)
add("member.mute","duration negative",enc(env(user_id="u1",duration_seconds=-5)),False)
add("member.quit","deep nesting",'{"group_id":"g1","actor":"owner","x":'+'['*40+']'*40+'}',False)
add("member.quit","not an object",'"g1"',False)
add("member.quit","empty body",'',False)
json.dump({"commands":[c for c in cases]}, open("commands.json","w"), indent=1, ensure_ascii=True)
print(len(cases))

cases.clear()
W={"actor":"ops","id":"ep_1"}
def wenv(**kw):
    d=dict(W); d.update(kw); return d
hooks={
 "endpoint.create": (dict(actor="ops",id="ep_1",url="https://example.com/hook",description="Orders\tteam",event_types=["member.*"],group_ids=["g1"],format="standard",timeout="10s",rate_limit=5,retry_schedule=["1s","1m30s"],ordered=True,paused=False),("description",),(),("actor",),("actor","url")),
 "endpoint.update": (wenv(url="https://example.com/h2",description="d",format="openim",timeout="1.5s",rate_limit=0.5),("description",),(),("actor","id"),("actor","id")),
 "endpoint.get": (dict(id="ep_1"),(),(),("id",),("id",)),
 "endpoint.delete": (wenv(reason="gone"),("reason",),(),("actor","id"),("actor","id")),
 "endpoint.pause": (wenv(reason="maintenance"),("reason",),(),("actor","id"),("actor","id")),
 "endpoint.resume": (wenv(),(),(),("actor","id"),("actor","id")),
 "endpoint.test": (wenv(),(),(),("actor","id"),("actor","id")),
 "endpoint.rotate_secret": (wenv(grace="1h"),(),(),("actor","id"),("actor","id")),
 "redeliver": (dict(actor="ops",endpoint_id="ep_1",since="2026-01-02T03:04:05Z",until_seq=9),(),(),("actor","endpoint_id"),("actor","endpoint_id")),
}
for s,(base,texts,names,ids,req) in hooks.items():
    common(s,base,texts,names,ids,req)
add("endpoint.list","empty object","{}",True)
add("endpoint.list","unknown member",'{"all":true}',False)
add("endpoint.list","trailing brace","{}}",False)
add("endpoint.list","array","[]",False)
add("endpoint.create","url with a line feed",enc(dict(actor="ops",url="https://example.com/\nx")),False)
add("endpoint.create","url with a tab",enc(dict(actor="ops",url="https://example.com/\tx")),False)
add("endpoint.create","url 2049 characters",enc(dict(actor="ops",url="https://e.com/"+"a"*2035)),False)
add("endpoint.create","url with a right-to-left override",enc(dict(actor="ops",url="https://example.com/\u202egpj.exe")),False)
add("endpoint.create","id empty means generated",enc(dict(actor="ops",id="",url="https://example.com/")),True)
add("endpoint.create","format empty means standard",enc(dict(actor="ops",url="https://example.com/",format="")),True)
add("endpoint.create","format in another case",enc(dict(actor="ops",url="https://example.com/",format="OpenIM")),False)
add("endpoint.create","timeout not a duration",enc(dict(actor="ops",url="https://example.com/",timeout="soon")),False)
add("endpoint.create","timeout number",'{"actor":"ops","url":"https://example.com/","timeout":10}',False)
add("endpoint.create","timeout with micro sign",enc(dict(actor="ops",url="https://example.com/",timeout="1500\u00b5s")),True)
add("endpoint.create","retry_schedule bad item",enc(dict(actor="ops",url="https://example.com/",retry_schedule=["1s","x"])),False)
add("endpoint.create","rate_limit negative",enc(dict(actor="ops",url="https://example.com/",rate_limit=-1)),False)
add("endpoint.create","rate_limit too high",enc(dict(actor="ops",url="https://example.com/",rate_limit=10001)),False)
add("endpoint.create","group_ids bad id",enc(dict(actor="ops",url="https://example.com/",group_ids=["g.1"])),False)
add("endpoint.create","event_types with ANSI escape",enc(dict(actor="ops",url="https://example.com/",event_types=["\u001b[2J"])),False)
add("endpoint.create","event_types with a line feed",enc(dict(actor="ops",url="https://example.com/",event_types=["member.*\n"])),False)
add("endpoint.create","secret with a tab",enc(dict(actor="ops",url="https://example.com/",secret="whsec_\t")),False)
add("endpoint.create","ordered string",'{"actor":"ops","url":"https://example.com/","ordered":"true"}',False)
add("endpoint.create","paused null",'{"actor":"ops","url":"https://example.com/","paused":null}',False)
add("endpoint.update","url null",'{"actor":"ops","id":"ep_1","url":null}',False)
add("endpoint.update","format empty",enc(wenv(format="")),False)
add("endpoint.get","with an actor",enc(dict(actor="ops",id="ep_1")),True)
add("endpoint.get","with a bad actor",enc(dict(actor="o p",id="ep_1")),False)
lengths("endpoint.delete",wenv(reason="r"),"reason",1024,False)
lengths("endpoint.create",dict(actor="ops",url="https://example.com/",description="d"),"description",1024,False)
add("endpoint.rotate_secret","grace zero",enc(wenv(grace="0s")),True)
add("endpoint.rotate_secret","grace bare zero",enc(wenv(grace="0")),True)
add("endpoint.rotate_secret","grace no unit",enc(wenv(grace="5")),False)
add("redeliver","since not a time",enc(dict(actor="ops",endpoint_id="ep_1",since="yesterday")),False)
add("redeliver","since_seq negative",'{"actor":"ops","endpoint_id":"ep_1","since_seq":-1}',False)
add("redeliver","since_seq 1.0",'{"actor":"ops","endpoint_id":"ep_1","since_seq":1.0}',False,NUM)
add("redeliver","since_seq",'{"actor":"ops","endpoint_id":"ep_1","since_seq":1}',True)
json.dump({"webhooks":cases}, open("webhooks.json","w"), indent=1, ensure_ascii=True)
print(len(cases))
