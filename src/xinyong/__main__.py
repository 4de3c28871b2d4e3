from xinyong.cli import main

main()
